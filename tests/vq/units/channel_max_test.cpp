// Tests of include/maso/vq/units/channel_max.hpp: maxout over channel groups.
#include <maso/vq/units/channel_max.hpp>

#include <maso_test/unit_laws.hpp>

#include <string>

using namespace maso::vq;

BOOST_AUTO_TEST_CASE(laws) {
    maso_test::check_unit_laws(channel_max<2>{});
    maso_test::check_unit_laws(channel_max<3>{});
    maso_test::check_unit_laws(channel_max<10>{});
}

BOOST_AUTO_TEST_CASE(is_a_selection_unit_named_for_maxout) {
    static_assert(selection_unit<channel_max<3>>);
    BOOST_CHECK_EQUAL(std::string(channel_max<3>::name()), "channel_max");
    // maxout of two pieces: max(z_1, z_2), and its β-VQ form
    const std::array<double, 2> z{-0.5, 1.5};
    BOOST_CHECK_EQUAL(hard_forward(channel_max<2>{}, z), 1.5);
    const double p = 1 / (1 + std::exp(-2.0 * (1.5 + 0.5)));
    MASO_CHECK_CLOSE(beta_forward(channel_max<2>{}, z, 2.0), -0.5 * (1 - p) + 1.5 * p, 1e-14, 1);
}
