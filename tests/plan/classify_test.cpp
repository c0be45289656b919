// Tests of include/maso/plan/classify.hpp: node kinds and fusable windows.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/vq_node.hpp>
#include <maso/plan/backward.hpp>
#include <maso/plan/fuse.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

using Net =
    std::decay_t<decltype(input<6>() >> dense<5>() >> hard_vq<relu>() >> beta_vq<absolute>(0.6f) >>
                          dense<4>() >> dense<3>() >> soft_vq<relu>())>;

BOOST_AUTO_TEST_CASE(classify_reads_node_kinds) {
    constexpr auto k = plan::kinds_v<Net>;
    static_assert(k[0] == node_kind::input && k[1] == node_kind::contraction &&
                  k[2] == node_kind::elementwise && k[3] == node_kind::elementwise &&
                  k[4] == node_kind::contraction);
    static_assert(!plan::fusable_window_v<Net>[2]);
    BOOST_CHECK(true);
}
