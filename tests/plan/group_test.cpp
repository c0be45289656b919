// Tests of include/maso/plan/classify.hpp, plan/group.hpp and plan/backward.hpp.
#define BOOST_TEST_MODULE plan.group
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

BOOST_AUTO_TEST_CASE(fuse_all_groups_affine_and_units) {
    constexpr auto g = plan::groups_v<Net, fuse::all_t>;
    static_assert(g.size() == 3);
    static_assert(g[0].begin == 1 && g[0].end == 4 && g[0].contraction && g[0].chain_begin == 2 &&
                  g[0].chain_end == 4 && !g[0].window && g[0].fused);
    static_assert(g[1].begin == 4 && g[1].end == 5 && g[1].contraction); // a lone affine map
    static_assert(g[2].begin == 5 && g[2].end == 7);
    BOOST_CHECK(true);
}

BOOST_AUTO_TEST_CASE(fuse_none_is_one_group_per_node) {
    constexpr auto g = plan::groups_v<Net, fuse::none_t>;
    static_assert(g.size() == 6);
    for (std::size_t k = 0; k < g.size(); ++k) {
        BOOST_CHECK_EQUAL(g[k].begin, k + 1);
        BOOST_CHECK(!g[k].fused);
    }
}

BOOST_AUTO_TEST_CASE(backward_plan_keeps_z_and_recomputes_the_chain) {
    using bp = plan::backward_plan<Net, fuse::all_t>;
    static_assert(bp::memory[0].saves_affine_output && bp::memory[0].recomputes_chain);
    static_assert(!bp::memory[1].saves_affine_output); // nothing after it: z is the output
    // kept: input, z of dense<5>, the unit chain's output, dense<4>'s, z of dense<3>, output
    constexpr std::array<bool, 7> kept{true, true, false, true, true, true, true};
    static_assert(bp::materialized == kept);
    using none = plan::backward_plan<Net, fuse::none_t>;
    for (bool m : none::materialized)
        BOOST_CHECK(m);
}
