#include <maso/vq/units/two_knot.hpp>

#include <maso_test/unit_laws.hpp>

using namespace maso::vq;

static_assert(elementwise_unit<two_knot> && !selection_unit<two_knot>);

BOOST_AUTO_TEST_CASE(laws) { maso_test::check_unit_laws(two_knot{}); }

BOOST_AUTO_TEST_CASE(hard_pieces_and_the_mean) {
    BOOST_CHECK_EQUAL(hard_forward(two_knot{}, std::array{-2.0}), 0.0);
    BOOST_CHECK_EQUAL(hard_forward(two_knot{}, std::array{0.5}), 0.5);
    BOOST_CHECK_EQUAL(hard_forward(two_knot{}, std::array{3.0}), 5.0);
    // β = 0 (η = 0): the mean of the three regions, (3z − 1)/3
    MASO_CHECK_CLOSE(beta_forward(two_knot{}, std::array{1.5}, 0.0), (3 * 1.5 - 1) / 3, 1e-15, 1);
    // the tie at z = 1 between z and 2z − 1: the lower index (slope 1) wins
    BOOST_CHECK_EQUAL(hard_backward(two_knot{}, std::array{1.0}, 1.0).dx[0], 1.0);
}
