// dsl_examples/large_cnn.hpp — the paper's largeCNN (paper-spec §7) as one maso expression.
//
// Conv layers as listed in the paper's appendix, each followed by batch norm
// (the authors' runs drop the conv bias when BN follows) and a β-VQ ReLU with a
// learnable β per channel — the swish experiments' setting (conv_bn_swish takes an
// orthogonality tag through to its convolution: docs/orthogonality.md); the class layer is
// a linear 1×1 convolution, then global average pooling and softmax
// cross-entropy. dsl_examples/large_cnn.cpp prints its plan and trains one step;
// bench/train_step_bench.cpp times a training step. The docs quote the
// [large_cnn] snippet below from this file.
//
// large_cnn_ortho is the same network for any number of classes, with an orthogonality tag on
// each of its nine weights chosen by a column of the paper's experiment (ortho_path.hpp);
// dsl_examples/experiment.cpp trains it.
#pragma once

#include "ortho_path.hpp"

#include <maso/maso.hpp>

#include <type_traits>

namespace maso_examples {

using namespace maso;

// clang-format off
// [large_cnn]
template <std::size_t C, std::size_t K, std::size_t S = 1, padding P = padding::same,
          class Ortho = ortho::none>
auto conv_bn_swish(Ortho orthogonality = {}) {
    return conv2d<C, K, Ortho, S, P, /*Bias=*/false>(orthogonality) >> batch_norm() >>
           beta_vq<relu>(learnable_per_channel(0.5f));
}

const auto large_cnn = input<3, 32, 32>()
    >> conv_bn_swish<96, 3>() >> conv_bn_swish<96, 3>() >> conv_bn_swish<96, 3, 2>()
    >> conv_bn_swish<192, 3>() >> conv_bn_swish<192, 3>() >> conv_bn_swish<192, 3, 2>()
    >> conv_bn_swish<192, 3, 1, padding::valid>() >> conv_bn_swish<192, 1>()
    >> conv2d<10, 1>() >> global_avgpool() >> softmax_cross_entropy();
// [large_cnn]

/// The same network with another β-VQ ReLU: β = 1 (ReLU), ½ (SiLU), learnable, … The unit is
/// a run-time value, so the type is large_cnn's whatever the unit; dsl_examples/train.cpp
/// builds it from --unit.
template <std::size_t C, std::size_t K, std::size_t S = 1, padding P = padding::same>
auto conv_bn_unit(beta_spec unit) {
    return conv2d<C, K, S, P, /*Bias=*/false>() >> batch_norm() >> beta_vq<relu>(unit);
}

inline auto large_cnn_with(beta_spec u) {
    return input<3, 32, 32>()
        >> conv_bn_unit<96, 3>(u) >> conv_bn_unit<96, 3>(u) >> conv_bn_unit<96, 3, 2>(u)
        >> conv_bn_unit<192, 3>(u) >> conv_bn_unit<192, 3>(u) >> conv_bn_unit<192, 3, 2>(u)
        >> conv_bn_unit<192, 3, 1, padding::valid>(u) >> conv_bn_unit<192, 1>(u)
        >> conv2d<10, 1>() >> global_avgpool() >> softmax_cross_entropy();
}
static_assert(std::is_same_v<std::decay_t<decltype(large_cnn)>, decltype(large_cnn_with(0.5f))>,
              "large_cnn_with builds large_cnn's network");

/// conv_bn_unit from Cin channels, with the tag that the column Path gives its C × Cin·K·K weight.
template <class Path, std::size_t Cin, std::size_t C, std::size_t K, std::size_t S = 1,
          padding P = padding::same>
auto conv_bn_unit_ortho(beta_spec unit) {
    using tag = ortho_path::tag_for<Path, C, Cin * K * K>;
    return conv2d<C, K, tag, S, P, /*Bias=*/false>() >> batch_norm() >> beta_vq<relu>(unit);
}

/// largeCNN with Classes outputs (10: CIFAR-10, 100: CIFAR-100) and the column Path's tags.
template <class Path, std::size_t Classes = 10>
auto large_cnn_ortho(beta_spec u) {
    using class_tag = ortho_path::tag_for<Path, Classes, 192>;
    return input<3, 32, 32>()
        >> conv_bn_unit_ortho<Path, 3, 96, 3>(u) >> conv_bn_unit_ortho<Path, 96, 96, 3>(u)
        >> conv_bn_unit_ortho<Path, 96, 96, 3, 2>(u)
        >> conv_bn_unit_ortho<Path, 96, 192, 3>(u) >> conv_bn_unit_ortho<Path, 192, 192, 3>(u)
        >> conv_bn_unit_ortho<Path, 192, 192, 3, 2>(u)
        >> conv_bn_unit_ortho<Path, 192, 192, 3, 1, padding::valid>(u)
        >> conv_bn_unit_ortho<Path, 192, 192, 1>(u)
        >> conv2d<Classes, 1, class_tag>() >> global_avgpool() >> softmax_cross_entropy();
}
static_assert(std::is_same_v<decltype(large_cnn_with(0.5f)),
                             decltype(large_cnn_ortho<ortho_path::none>(0.5f))>,
              "large_cnn_ortho without a constraint builds large_cnn's network");
// clang-format on

} // namespace maso_examples
