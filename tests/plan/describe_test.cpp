// Tests of include/maso/plan/describe.hpp: the plan printed, fused and unfused.
#define BOOST_TEST_MODULE plan.describe
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> maxpool<2>() >>
                 conv2d<4, 1, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>() >>
                 global_avgpool() >> softmax_cross_entropy();

BOOST_AUTO_TEST_CASE(fused_plan) {
    const std::string d = describe(net);
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("plan (fuse::all): input<2, 4, 4>, 4 kernels") != std::string::npos);
    BOOST_CHECK(d.find("kernel 0: conv2d<3, 3, stride 1, same> → beta_vq<relu>(β = 0.9) → "
                       "maxpool<2>   [2×4×4 → 3×2×2]") != std::string::npos);
    BOOST_CHECK(d.find("one pass over z: bias, beta_vq<relu>(β = 0.9), then maxpool<2> on each "
                       "plane") != std::string::npos);
    BOOST_CHECK(d.find("batch-norm correction") != std::string::npos);
    BOOST_CHECK(d.find("kernel 2: global_avgpool") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unfused_plan) {
    const std::string d = describe(net, fuse::none);
    BOOST_CHECK(d.find("8 kernels") != std::string::npos);
    BOOST_CHECK(d.find("the node's own pass (window)") != std::string::npos);
}
