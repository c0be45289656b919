// maso/layers/input.hpp — input<C, H, W>() and input<N>(): where a network starts.
#pragma once

#include <maso/expr/chain.hpp>
#include <maso/expr/node.hpp>

#include <string>

namespace maso {

template <std::size_t C, std::size_t H = 1, std::size_t W = 1>
struct input_node {
    static constexpr node_kind kind = node_kind::input;
    static constexpr bool valid = C > 0 && H > 0 && W > 0;

    static std::string name(const input_node&) {
        return "input<" + std::to_string(C) + ", " + std::to_string(H) + ", " + std::to_string(W) +
               ">";
    }
    /// Checked where the chain starts (expr/chain.hpp): E018 for a zero extent.
    template <class In>
    static consteval diag check() {
        return valid ? diag::ok : diag::zero_extent;
    }
    template <class>
    using output_shape = std::conditional_t<valid, shape<C, H, W>, invalid_shape>;
};

/// The first node of every network: C channels of H×W, or a vector of C features.
template <std::size_t C, std::size_t H = 1, std::size_t W = 1>
constexpr input_node<C, H, W> input() {
    return {};
}

} // namespace maso
