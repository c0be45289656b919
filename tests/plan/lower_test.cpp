// Tests of include/maso/plan/lower.hpp: the program keeps the buffers the plan says.
#define BOOST_TEST_MODULE plan.lower
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> maxpool<2>() >>
                 conv2d<4, 1, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>() >>
                 global_avgpool() >> softmax_cross_entropy();

BOOST_AUTO_TEST_CASE(the_program_keeps_what_the_plan_says) {
    using P = plan::program<std::decay_t<decltype(net)>, fuse::all_t, float>;
    // input, conv z, pooled output, conv z, unit output, pooled, loss output
    static_assert(P::memory_plan::materialized ==
                  std::array<bool, 9>{true, true, false, true, true, false, true, true, true});
    P p(net, 2);
    BOOST_CHECK_EQUAL(p.value<1>().size(), 3u * 16 * 2);
    BOOST_CHECK_EQUAL(p.parameters<1>().size(), 3u * 2 * 9 + 3);
    BOOST_CHECK_EQUAL(p.parameters<5>().size(), 2u * 4); // γ, β of the batch norm
    BOOST_CHECK_THROW(P(net, 0), value_error);
}
