// maso against libtorch on networks of maps: conv2d (same, valid, stride 2, with and without
// bias), max / average / β-softmax pooling at several β (fixed, learnable per layer and per
// channel, β = 1), maxout (hard and β), global average and softmax pooling, flatten
// (expect_same_as_torch.hpp). Batch norm on maps: batch_norm_networks_test.cpp.
#include "expect_same_as_torch.hpp"

using namespace maso;
using maso_oracle::expect_same_as_torch;

BOOST_AUTO_TEST_CASE(convolutions_same_valid_stride_two_with_and_without_bias) {
    expect_same_as_torch(input<3, 10, 10>() >> conv2d<4, 3>() >> beta_vq<relu>(0.7f) >>
                         conv2d<5, 3, 2, padding::same, false>() >> beta_vq<relu>(0.4f) >>
                         conv2d<4, 3, 1, padding::valid>() >> conv2d<6, 1>() >>
                         conv2d<3, 3, 2, padding::valid, false>() >> flatten() >> dense<3>() >>
                         softmax_cross_entropy());
    // a 5×5 kernel, stride 2 on an odd map, no loss
    expect_same_as_torch(input<2, 9, 9>() >> conv2d<3, 5, 2>() >> beta_vq<absolute>(0.6f) >>
                         conv2d<2, 3, 1, padding::same, false>());
}

BOOST_AUTO_TEST_CASE(max_average_and_softmax_pooling) {
    expect_same_as_torch(input<2, 8, 8>() >> conv2d<4, 3>() >> beta_vq<relu>(learnable(0.5f)) >>
                         maxpool<2>() >> conv2d<4, 1>() >> avgpool<2>() >>
                         softpool<2>(learnable_per_channel(0.6f)) >> global_avgpool() >>
                         softmax_cross_entropy());
    // softmax pooling at β = 0 (the mean), ½, 0.9 and 1 (the max)
    expect_same_as_torch(input<3, 16, 16>() >> conv2d<3, 3>() >> softpool<2>(0.0f) >>
                         softpool<2>(0.5f) >> conv2d<3, 3, 1, padding::same, false>() >>
                         softpool<2>(0.9f) >> softpool<2>(1.0f));
    // 4×4 windows (the AVX-512 tiles hold them) and 3×3 ones (no tile does)
    expect_same_as_torch(input<2, 12, 12>() >> conv2d<3, 3>() >>
                         beta_vq<relu>(learnable_per_channel(0.5f)) >>
                         softpool<3>(learnable(0.7f)) >> conv2d<2, 1>() >> global_avgpool());
    expect_same_as_torch(input<2, 8, 8>() >> conv2d<16, 3>() >> beta_vq<relu>(learnable(0.5f)) >>
                             softpool<4>(learnable_per_channel(0.5f)) >> global_avgpool() >>
                             softmax_cross_entropy(),
                         {.batch = 4});
    expect_same_as_torch(input<2, 8, 8>() >> conv2d<16, 3>() >> beta_vq<relu>(learnable(0.5f)) >>
                             maxpool<4>() >> global_avgpool() >> softmax_cross_entropy(),
                         {.batch = 4});
}

BOOST_AUTO_TEST_CASE(maxout_hard_and_beta) {
    expect_same_as_torch(input<2, 4, 4>() >> conv2d<6, 3>() >> maxout<2>() >> conv2d<6, 1>() >>
                         maxout<3>(learnable_per_channel(0.6f)) >> conv2d<4, 3>() >>
                         maxout<2>(0.5f) >> global_avgpool() >> softmax_cross_entropy());
    // maxout over 6 rows of a convolution, learnable per layer, then on a vector
    expect_same_as_torch(input<3, 4, 4>() >> conv2d<12, 3>() >> maxout<6>(learnable(0.7f)) >>
                         flatten() >> dense<8>() >> maxout<4>() >> dense<3>() >>
                         softmax_cross_entropy());
}

BOOST_AUTO_TEST_CASE(global_pooling_and_flatten) {
    expect_same_as_torch(input<3, 6, 6>() >> conv2d<4, 3>() >>
                         global_softpool(learnable_per_channel(0.5f)) >> dense<3>() >>
                         softmax_cross_entropy());
    expect_same_as_torch(input<3, 6, 6>() >> conv2d<4, 3>() >> beta_vq<relu>(0.8f) >>
                         global_softpool(0.3f) >> dense<2>() >> beta_vq<relu>(learnable(0.6f)));
    expect_same_as_torch(input<2, 4, 4>() >> conv2d<3, 3, 2>() >> maxpool<2>() >> flatten() >>
                         dense<3>() >> softmax_cross_entropy());
}
