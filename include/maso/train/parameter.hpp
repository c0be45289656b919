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

#include <maso/core/parameter_kind.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace maso {

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
