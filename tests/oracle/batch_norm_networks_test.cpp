// maso against libtorch on networks with batch norm on maps, in training mode (batch
// statistics, running statistics moved) and in evaluation mode (the running statistics):
// conv + batch norm + units and pools, and small versions of the paper's largeCNN (conv +
// batch norm + per-channel learnable swish) and the authors' smallCNN (expect_same_as_torch.hpp).
#include "expect_same_as_torch.hpp"

using namespace maso;
using maso_oracle::expect_same_as_torch;

BOOST_AUTO_TEST_CASE(after_convolutions_with_and_without_bias) {
    // In front of a unit, a pooling and the class layer. The second convolution keeps its
    // bias, whose gradient is then 0 up to rounding (the batch mean removes the bias): both
    // sides return noise of the size of the terms they sum, checked only against the floor
    // of the network's largest gradient.
    const auto net = input<3, 6, 6>() >> conv2d<4, 3, 1, padding::same, false>() >> batch_norm() >>
                     beta_vq<relu>(learnable_per_channel(0.5f)) >> conv2d<4, 3>() >>
                     batch_norm(0.2f, 1e-3f) >> softpool<2>(learnable(0.5f)) >>
                     conv2d<3, 1, 1, padding::same, false>() >> batch_norm() >> global_avgpool() >>
                     softmax_cross_entropy();
    expect_same_as_torch(net, {.batch = 4});
    expect_same_as_torch(net, {.batch = 4, .mode = mode::evaluation});
}

/// The paper's largeCNN block (dsl_examples/large_cnn.hpp).
template <std::size_t C, std::size_t K, std::size_t S = 1, padding P = padding::same>
auto conv_bn_swish() {
    return conv2d<C, K, S, P, false>() >> batch_norm() >>
           beta_vq<relu>(learnable_per_channel(0.5f));
}

BOOST_AUTO_TEST_CASE(a_small_large_cnn) {
    // largeCNN's sequence of blocks, narrower and on an 8×8 map
    const auto net = input<3, 8, 8>() >> conv_bn_swish<8, 3>() >> conv_bn_swish<8, 3, 2>() >>
                     conv_bn_swish<12, 3>() >> conv_bn_swish<12, 3, 2>() >>
                     conv_bn_swish<12, 1, 1, padding::valid>() >> conv2d<10, 1>() >>
                     global_avgpool() >> softmax_cross_entropy();
    expect_same_as_torch(net, {.batch = 4});
    expect_same_as_torch(net, {.batch = 4, .mode = mode::evaluation});
}

BOOST_AUTO_TEST_CASE(a_small_small_cnn) {
    // dsl_examples/small_cnn.cpp's network, narrower: hard ReLU, max pooling, a dense head
    const auto net = input<1, 12, 12>() >> conv2d<6, 3, 1, padding::same, false>() >>
                     batch_norm() >> hard_vq<relu>() >> maxpool<2>() >>
                     conv2d<8, 3, 1, padding::valid, false>() >> batch_norm() >> hard_vq<relu>() >>
                     maxpool<2>() >> conv2d<12, 1, 1, padding::same, false>() >> batch_norm() >>
                     hard_vq<relu>() >> global_avgpool() >> dense<10, false>() >>
                     softmax_cross_entropy();
    expect_same_as_torch(net, {.batch = 6});
    expect_same_as_torch(net, {.batch = 6, .mode = mode::evaluation});
}
