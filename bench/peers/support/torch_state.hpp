// bench/peers/support/torch_state.hpp — maso's tensors copied into a libtorch network.
//
// A libtorch network here lists its tensors in maso's state-dict order (weights, biases,
// batch-norm γ, β, running mean and variance, θ), so that one copy gives both sides identical
// weights (model::state_dict(): names, PyTorch shapes, spans into the model). A SiLU network
// has no θ: maso's θ entries are then skipped, and maso's θ must be 0 (β = ½) for the two to
// compute the same function.
#pragma once

#include <maso/train/parameter.hpp>

#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace maso_peers {

/// Copies every tensor of `from` into `to`, in order; with `skip_theta`, maso's θ entries
/// (parameter_kind::beta) have no counterpart. Throws std::runtime_error on a size mismatch.
inline void copy_state(const std::vector<maso::parameter_ref<float>>& from,
                       const std::vector<torch::Tensor>& to, bool skip_theta) {
    torch::NoGradGuard no_grad;
    std::size_t k = 0;
    for (const auto& p : from) {
        if (skip_theta && p.kind == maso::parameter_kind::beta) continue;
        if (k == to.size()) throw std::runtime_error("copy_state: libtorch has fewer tensors");
        const torch::Tensor& t = to[k++];
        if (t.numel() != std::int64_t(p.value.size()))
            throw std::runtime_error("copy_state: " + p.name + " has " +
                                     std::to_string(p.value.size()) + " values, libtorch's " +
                                     std::to_string(t.numel()));
        const std::vector<std::int64_t> shape(p.shape.begin(), p.shape.end());
        t.copy_(torch::from_blob(p.value.data(), shape, torch::kFloat).view(t.sizes()));
    }
    if (k != to.size()) throw std::runtime_error("copy_state: libtorch has more tensors");
}

} // namespace maso_peers
