// Tests of include/maso/plan/backward.hpp: what each group keeps and recomputes.
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
