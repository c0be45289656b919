// maso/core/parameter_kind.hpp — what a tensor of a model is: weight, bias, scale, shift,
// running statistic or the θ of a learnable β.
//
// Layers name their tensors with it (core/tensor_slot.hpp); optimisers read it to decide
// what they update and what weight decay applies to, checkpoints to store it.
#pragma once

namespace maso {

enum class parameter_kind {
    weight,       ///< a dense or convolution weight matrix
    bias,         ///< a dense or convolution bias
    scale,        ///< batch norm's γ
    shift,        ///< batch norm's β (the shift, not the β of β-VQ)
    running_mean, ///< batch norm's running mean: state, no gradient
    running_var,  ///< batch norm's running variance: state, no gradient
    beta,         ///< θ of a learnable β-VQ β (β = σ(θ)): no weight decay by default
};

constexpr const char* to_string(parameter_kind k) noexcept {
    switch (k) {
    case parameter_kind::weight:
        return "weight";
    case parameter_kind::bias:
        return "bias";
    case parameter_kind::scale:
        return "scale";
    case parameter_kind::shift:
        return "shift";
    case parameter_kind::running_mean:
        return "running_mean";
    case parameter_kind::running_var:
        return "running_var";
    case parameter_kind::beta:
        return "beta";
    }
    return "?";
}

/// Whether an optimiser updates tensors of this kind (running statistics it does not).
constexpr bool is_trainable(parameter_kind k) noexcept {
    return k != parameter_kind::running_mean && k != parameter_kind::running_var;
}

} // namespace maso
