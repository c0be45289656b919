// Tests of docs/fusion-planner.md: its example of the two policies, built and run as the page
// shows it (tests/docs/quotes_test.cpp checks that the page quotes these lines).
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <iostream>
#include <vector>

using namespace maso;

namespace {

const auto net = input<8>() >> dense<6>() >> batch_norm() >> beta_vq<relu>(0.9f) >> dense<3>() >>
                 softmax_cross_entropy();

} // namespace

BOOST_AUTO_TEST_CASE(fused_and_unfused) {
    // Quoted by docs/fusion-planner.md as it is:
    // clang-format off
    auto fused = instantiate(net, 64);               // fuse::all
    auto baseline = instantiate(net, 64, fuse::none); // every node its own pass
    std::cout << describe(net, fuse::none);
    // clang-format on
    std::vector<float> images(64 * 8);
    std::vector<int> labels(64);
    for (std::size_t i = 0; i < images.size(); ++i)
        images[i] = float(i % 5) - 2.f;
    for (std::size_t n = 0; n < labels.size(); ++n)
        labels[n] = int(n % 3);
    BOOST_TEST(fused.forward(images, labels) == baseline.forward(images, labels),
               boost::test_tools::tolerance(1e-5f));
}
