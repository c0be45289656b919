// expect_gradients on networks that together contain every node kind, fused
// and unfused (tests/support/maso_test/expect_gradients.hpp).
#include <maso/maso.hpp>

#include <maso_test/expect_gradients.hpp>

using namespace maso;

BOOST_AUTO_TEST_CASE(dense_units_and_soft_outputs) {
    maso_test::expect_gradients(input<5>() >> dense<4>() >> beta_vq<relu>(learnable(0.6f)) >>
                                dense<4, false>() >> beta_vq<leaky_relu>(0.8f, leaky_relu{0.1}) >>
                                sigmoid(learnable_per_channel(0.4f)) >> dense<3>() >>
                                tanh(learnable(0.7f)));
    maso_test::expect_gradients(input<4>() >> dense<6>() >> soft_vq<absolute>() >> dense<3>() >>
                                softmax(learnable(0.5f)));
}

BOOST_AUTO_TEST_CASE(conv_pools_and_loss) {
    maso_test::expect_gradients(
        input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(learnable_per_channel(0.5f)) >>
        softpool<2>(learnable(0.6f)) >> conv2d<4, 1>() >> hard_vq<absolute>() >>
        global_softpool(learnable(0.3f)) >> dense<3>() >> softmax_cross_entropy());
    maso_test::expect_gradients(input<2, 4, 4>() >> conv2d<4, 3, 2>() >> maxpool<2>() >>
                                flatten() >> dense<3>() >> softmax_cross_entropy());
    maso_test::expect_gradients(input<1, 6, 6>() >> conv2d<4, 3, 1, padding::valid>() >>
                                avgpool<2>() >> maxout<2>() >> beta_vq<relu>(0.9f) >>
                                global_avgpool() >> softmax_cross_entropy());
}

BOOST_AUTO_TEST_CASE(batch_norm_fused_after_the_affine_map) {
    // with and without a conv bias in front of the batch norm
    maso_test::expect_gradients(input<2, 3, 3>() >> conv2d<3, 3, 1, padding::same, false>() >>
                                batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f)) >>
                                conv2d<2, 1>() >> batch_norm() >> global_avgpool() >>
                                softmax_cross_entropy());
    maso_test::expect_gradients(
        input<3>() >> dense<4>() >> batch_norm() >> soft_vq<relu>() >> dense<2>(), {.batch = 4});
}
