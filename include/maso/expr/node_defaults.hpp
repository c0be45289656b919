// maso/expr/node_defaults.hpp — the members most nodes and layers share, as empty bases.
//
// expr/node.hpp lists what a node and its layer<In, T> provide; these give the common
// answers once, and a node or layer inherits the ones that hold for it:
//
//   keeps_shape    (node)   check<In>() → diag::ok, output_shape<In> = In. A node that
//                           checks its input declares its own check<In>(), which hides
//                           this one, and keeps output_shape.
//   no_state       (layer)  state_size(batch) = scratch_size(batch) = 0: nothing kept from
//                           forward to backward, no scratch.
//   no_parameters  (layer)  parameter_count() = 0, initialize(params, ctx) does nothing,
//                           tensors() is empty.
//
// A node with data members and a base is no longer brace-initialised member by member
// ({{}, a, b}), so such nodes declare a constructor taking the members in order.
#pragma once

#include <maso/core/diagnostics.hpp>
#include <maso/core/tensor_slot.hpp>
#include <maso/core/weight_init.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace maso {

/// A node whose output has its input's shape and that accepts any input.
struct keeps_shape {
    template <class In>
    static consteval diag check() {
        return diag::ok;
    }
    template <class In>
    using output_shape = In;
};

/// A layer that keeps nothing from forward to backward and needs no scratch.
struct no_state {
    std::size_t state_size(std::size_t) const noexcept { return 0; }
    std::size_t scratch_size(std::size_t) const noexcept { return 0; }
};

/// A layer without parameters, for values of type T.
template <class T>
struct no_parameters {
    std::size_t parameter_count() const noexcept { return 0; }
    void initialize(std::span<T>, init_context&) const noexcept {}
    std::vector<tensor_slot> tensors() const { return {}; }
};

} // namespace maso
