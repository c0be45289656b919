// dsl_examples/small_cnn.hpp — the authors' smallCNN (paper-spec §7, their OMASO variant) for
// any input and any β-VQ ReLU: three conv + batch norm + unit stages with max pooling, global
// average pooling and a dense class layer without bias.
//
// One difference from their listing: the first convolution uses 'same' padding, so that both
// 2×2 poolings divide their map exactly (28 → 28 → 14 → 12 → 6 for Fashion-MNIST, 32 → 32 →
// 16 → 14 → 7 for CIFAR); Lasagne's pooling floors odd maps, maso's refuses them (E014).
//
// The unit is a run-time value of one type, so one network type serves every unit:
// beta_vq<relu>(1.f) is ReLU (β = 1 runs the hard pass), beta_vq<relu>(0.5f) SiLU, and
// beta_vq<relu>(learnable_per_channel(0.5f)) a swish whose β each channel learns.
// dsl_examples/small_cnn.cpp runs it fused and unfused; dsl_examples/train.cpp trains it.
//
// small_cnn_ortho is the same network with an orthogonality tag on each of its four weights,
// chosen by a column of the paper's experiment (ortho_path.hpp); dsl_examples/experiment.cpp
// trains it.
#pragma once

#include "ortho_path.hpp"

#include <maso/maso.hpp>

#include <type_traits>

namespace maso_examples {

using namespace maso;

// clang-format off
// [small_cnn]
template <std::size_t C, std::size_t H, std::size_t W>
auto small_cnn(beta_spec unit) {
    return input<C, H, W>()
        >> conv2d<32, 3, 1, padding::same, false>() >> batch_norm() >> beta_vq<relu>(unit)
        >> maxpool<2>()
        >> conv2d<64, 3, 1, padding::valid, false>() >> batch_norm() >> beta_vq<relu>(unit)
        >> maxpool<2>()
        >> conv2d<128, 1, 1, padding::same, false>() >> batch_norm() >> beta_vq<relu>(unit)
        >> global_avgpool() >> dense<10, false>() >> softmax_cross_entropy();
}
// [small_cnn]

/// small_cnn with the tag ortho_path::tag_for<Path, K, D> on each layer of K rows of D entries.
template <std::size_t C, std::size_t H, std::size_t W, class Path>
auto small_cnn_ortho(beta_spec unit) {
    using ortho_path::tag_for;
    return input<C, H, W>()
        >> conv2d<32, 3, tag_for<Path, 32, C * 3 * 3>, 1, padding::same, false>()
        >> batch_norm() >> beta_vq<relu>(unit) >> maxpool<2>()
        >> conv2d<64, 3, tag_for<Path, 64, 32 * 3 * 3>, 1, padding::valid, false>()
        >> batch_norm() >> beta_vq<relu>(unit) >> maxpool<2>()
        >> conv2d<128, 1, tag_for<Path, 128, 64>, 1, padding::same, false>()
        >> batch_norm() >> beta_vq<relu>(unit)
        >> global_avgpool() >> dense<10, tag_for<Path, 10, 128>, false>()
        >> softmax_cross_entropy();
}
static_assert(std::is_same_v<decltype(small_cnn<1, 28, 28>(1.f)),
                             decltype(small_cnn_ortho<1, 28, 28, ortho_path::none>(1.f))>,
              "small_cnn_ortho without a constraint builds small_cnn's network");
// clang-format on

} // namespace maso_examples
