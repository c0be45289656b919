// maso against libtorch on networks of vectors: dense layers (with and without bias), every
// β-VQ unit at several fixed β and learnable per layer and per channel, the soft outputs
// (sigmoid, tanh, softmax), batch norm on vectors in training and evaluation mode, with and
// without the softmax cross-entropy loss (expect_same_as_torch.hpp).
#include "expect_same_as_torch.hpp"

using namespace maso;
using maso_oracle::expect_same_as_torch;

BOOST_AUTO_TEST_CASE(relu_at_fixed_betas_and_hard) {
    // β = 0 (z/2), 0.3, ½ (SiLU), 0.9 and 1 given at run time, then hard_vq: every regime
    expect_same_as_torch(input<6>() >> dense<5>() >> beta_vq<relu>(0.0f) >> dense<5, false>() >>
                         beta_vq<relu>(0.3f) >> dense<4>() >> soft_vq<relu>() >> dense<4>() >>
                         beta_vq<relu>(0.9f) >> dense<4>() >> beta_vq<relu>(1.0f) >> dense<4>() >>
                         hard_vq<relu>() >> dense<3>() >> softmax_cross_entropy());
}

BOOST_AUTO_TEST_CASE(learnable_betas_per_layer_and_per_channel) {
    expect_same_as_torch(input<5>() >> dense<6>() >> beta_vq<relu>(learnable(0.5f)) >> dense<6>() >>
                             beta_vq<relu>(learnable_per_channel(0.7f)) >> dense<6>() >>
                             beta_vq<leaky_relu>(learnable(0.6f), leaky_relu{0.2}) >> dense<4>() >>
                             beta_vq<absolute>(learnable_per_channel(0.4f)) >> dense<3>() >>
                             softmax_cross_entropy(),
                         {.batch = 4});
}

BOOST_AUTO_TEST_CASE(leaky_relu_and_absolute_fixed_and_hard) {
    expect_same_as_torch(input<4>() >> dense<5>() >> beta_vq<leaky_relu>(0.8f, leaky_relu{0.1}) >>
                         dense<5>() >> hard_vq<leaky_relu>(leaky_relu{0.2}) >> dense<5>() >>
                         soft_vq<absolute>() >> dense<5>() >> beta_vq<absolute>(0.9f) >>
                         dense<4>() >> hard_vq<absolute>() >> dense<3>() >>
                         beta_vq<leaky_relu>(0.25f, leaky_relu{0.3}));
}

BOOST_AUTO_TEST_CASE(soft_outputs) {
    expect_same_as_torch(input<4>() >> dense<5>() >> sigmoid() >> dense<5>() >>
                         sigmoid(learnable_per_channel(0.4f)) >> dense<5>() >>
                         maso::tanh(learnable(0.7f)) >> dense<5>() >> maso::tanh(0.3f) >>
                         dense<4>() >> sigmoid(0.8f) >> dense<3>() >> softmax(learnable(0.5f)));
    expect_same_as_torch(input<4>() >> dense<6>() >> maso::tanh(learnable_per_channel(0.6f)) >>
                         dense<3>() >> softmax(0.8f));
}

BOOST_AUTO_TEST_CASE(batch_norm_on_vectors) {
    const auto net = input<6>() >> dense<5>() >> batch_norm() >>
                     beta_vq<relu>(learnable_per_channel(0.5f)) >> dense<4, false>() >>
                     batch_norm(0.3f, 1e-3f) >> dense<3>() >> softmax_cross_entropy();
    expect_same_as_torch(net, {.batch = 5});
    expect_same_as_torch(net, {.batch = 5, .mode = mode::evaluation});
}

BOOST_AUTO_TEST_CASE(an_mlp) {
    // the shape of bench/peers' MLP, narrower
    expect_same_as_torch(input<49>() >> dense<32>() >> beta_vq<relu>(learnable(0.5f)) >>
                             dense<32>() >> beta_vq<relu>(learnable(0.5f)) >> dense<10>() >>
                             softmax_cross_entropy(),
                         {.batch = 8});
}
