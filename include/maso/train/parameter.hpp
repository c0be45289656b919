// maso/train/parameter.hpp — a model's tensors by name: what optimisers and checkpoints see.
//
// A model lists its tensors as a state dict does (model::state_dict()): each with a stable
// name "<node>.<layer>.<tensor>" ("3.conv2d.weight", "4.batch_norm.running_mean",
// "5.beta_vq.theta"), its kind, its shape in PyTorch's layout (a convolution's weight is
// {Cout, Cin, K, K}, a dense layer's {N, D}) and spans over the model's own buffers:
// writing through `value` changes the model. Running statistics have no gradient.
//
//   for (const auto& p : m.state_dict())
//       std::cout << p.name << " " << to_string(p.kind) << " " << p.value.size() << "\n";
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace maso {

/// What a tensor of a model is, which decides how optimisers and checkpoints treat it.
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

/// One named tensor of a model: spans into the model's buffers (the model must outlive it).
template <class T>
struct parameter_ref {
    std::string name;               ///< "<node index>.<layer>.<tensor>", stable across runs
    parameter_kind kind;            ///< what it is
    std::vector<std::size_t> shape; ///< PyTorch's layout; the product is value.size()
    std::span<T> value;             ///< the values, in the model
    std::span<T> gradient;          ///< ∂L/∂value, same size; empty for running statistics
};

} // namespace maso
