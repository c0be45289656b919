// maso/plan/backward.hpp — pass 5: what each group keeps for its backward pass.
//
// The backward of a fused group needs its input (for the weight gradient, or as
// the chain's input) and the affine output z; it recomputes everything between
// z and its output — the bias, batch-norm apply and units in registers, a
// pooling window's input plane in a plane-sized scratch buffer, a channel
// window's (maxout's) members in registers — instead of storing it. An unfused
// node keeps its input and output. `materialized` says which node outputs (and,
// identically, which gradients) have buffers.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/plan/flatten.hpp>
#include <maso/plan/group.hpp>

namespace maso::plan {

struct group_memory {
    bool saves_affine_output = false; ///< z of the contraction is kept
    bool recomputes_chain = false;    ///< the pointwise chain is re-run in backward
    bool recomputes_window_input = false;
};

template <class Net, class Policy>
struct backward_plan {
    static constexpr auto groups = groups_v<Net, Policy>;
    static constexpr std::size_t nodes = kinds_v<Net>.size();

    static constexpr std::array<group_memory, groups.size()> memory = [] {
        std::array<group_memory, groups.size()> m{};
        for (std::size_t k = 0; k < groups.size(); ++k) {
            const group& g = groups[k];
            if (!g.fused) continue;
            const bool epilogue = g.chain_end > g.chain_begin || g.window;
            m[k].saves_affine_output = g.contraction && epilogue;
            m[k].recomputes_chain = g.chain_end > g.chain_begin;
            m[k].recomputes_window_input = g.window && g.chain_end > g.chain_begin;
        }
        return m;
    }();

    /// Node outputs that live in memory (node 0's is the network input).
    static constexpr std::array<bool, nodes> materialized = [] {
        std::array<bool, nodes> m{};
        m[0] = true;
        for (std::size_t k = 0; k < groups.size(); ++k) {
            m[groups[k].end - 1] = true;
            if (memory[k].saves_affine_output) m[groups[k].begin] = true;
        }
        return m;
    }();

    /// How the network's input is stored: as the node that reads it asks
    /// (expr/node.hpp's edge_layout), channel-major when it does not.
    static constexpr edge_layout input_edge = [] {
        if constexpr (nodes > 1) {
            using first = type_at_t<1, flatten_t<Net>>;
            if constexpr (requires { first::input_edge; }) return first::input_edge;
        }
        return edge_layout::channel_major;
    }();
    /// Zeros around each plane of the stored input (edge_layout::padded).
    static constexpr std::size_t input_padding = [] {
        if constexpr (input_edge == edge_layout::padded)
            return type_at_t<1, flatten_t<Net>>::input_padding;
        else
            return std::size_t{0};
    }();
};

} // namespace maso::plan
