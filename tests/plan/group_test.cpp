// Tests of include/maso/plan/group.hpp and plan/fuse.hpp: fused groups and single-node groups.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxout.hpp>
#include <maso/layers/vq_node.hpp>
#include <maso/plan/backward.hpp>
#include <maso/plan/fuse.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

using Net =
    std::decay_t<decltype(input<6>() >> dense<5>() >> hard_vq<relu>() >> beta_vq<absolute>(0.6f) >>
                          dense<4>() >> dense<3>() >> soft_vq<relu>())>;

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

BOOST_AUTO_TEST_CASE(maxout_closes_a_group_with_a_contraction) {
    // A channel window joins a group headed by a contraction; without one it stays alone.
    using M = std::decay_t<decltype(input<6>() >> dense<4>() >> hard_vq<relu>() >> maxout<2>() >>
                                    hard_vq<relu>() >> maxout<2>())>;
    constexpr auto g = plan::groups_v<M, fuse::all_t>;
    static_assert(g.size() == 3);
    static_assert(g[0].begin == 1 && g[0].end == 4 && g[0].chain_end == 3 && g[0].window &&
                  g[0].channel_window);
    static_assert(g[1].begin == 4 && g[1].end == 5 && !g[1].window); // units, no contraction
    static_assert(g[2].begin == 5 && g[2].end == 6 && !g[2].fused);
    BOOST_CHECK(true);
}
