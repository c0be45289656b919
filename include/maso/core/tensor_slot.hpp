// maso/core/tensor_slot.hpp — one named tensor inside a layer's parameters or state.
//
// A layer lists its tensors as slots (expr/node.hpp: `tensors()`): a name ("weight",
// "running_mean", "theta"), a kind, where it lies in the layer's parameter span (or its
// state span) and its shape in PyTorch's layout. The model turns them into the named
// spans of its state dict (train/parameter.hpp).
#pragma once

#include <maso/core/parameter_kind.hpp>

#include <cstddef>
#include <vector>

namespace maso {

struct tensor_slot {
    const char* name;               ///< "weight", "bias", "running_mean", "theta", …
    parameter_kind kind;            ///< running statistics lie in the state, the rest in params
    std::size_t offset;             ///< first value in the layer's span
    std::vector<std::size_t> shape; ///< PyTorch's layout; the product is the size

    std::size_t size() const noexcept {
        std::size_t n = 1;
        for (std::size_t e : shape)
            n *= e;
        return n;
    }
    bool in_state() const noexcept { return !is_trainable(kind); }
};

} // namespace maso
