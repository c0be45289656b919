// maso/plan/group.hpp — pass 4: maximal fusable runs of nodes.
//
// Under fuse::all, scanning left to right, a group is
//
//     contraction? normalization? elementwise* window?
//
// with at least one node: the affine map, then batch norm right after it, then
// any number of units and soft outputs, then one window: a pooling window inside
// the plane (after a batch norm too: its forward applies the chain once the batch
// statistics are known, and its backward sums each channel's gradients over all
// the channel's planes before the batch-norm correction, run/program.hpp) — or,
// when the group has a contraction (conv2d or dense), a channel window: maxout<K>,
// which reduces each K consecutive channels (K rows of the GEMM's output) to one,
// pointwise along the columns. Whether the register tiles can hold that reduction
// (K dividing the tile's rows) depends on the ISA and the value type, so the group
// says only that the window is a channel one; plan/tiles.hpp decides the path.
// Anything else (flatten, softmax, the loss, a maxout after no contraction) is a
// group of its own.
// Under fuse::none every node is its own group.
#pragma once

#include <maso/plan/classify.hpp>

#include <array>
#include <cstddef>

namespace maso::plan {

struct group {
    std::size_t begin = 0, end = 0; ///< nodes [begin, end)
    bool contraction = false;       ///< node `begin` is a dense/conv
    bool normalization = false;     ///< a batch norm follows the head
    std::size_t chain_begin = 0;    ///< the pointwise chain is [chain_begin, chain_end)
    std::size_t chain_end = 0;
    bool window = false;         ///< node end−1 is a fused window
    bool channel_window = false; ///< … across channels (maxout), not a pooling one
    bool fused = true;           ///< false: run the node's own forward/backward
    constexpr std::size_t size() const noexcept { return end - begin; }
};

namespace detail {
template <std::size_t N>
constexpr std::pair<std::array<group, N>, std::size_t>
make_groups(const std::array<node_kind, N>& kind, const std::array<bool, N>& fusable,
            const std::array<bool, N>& channel, bool fuse) {
    std::array<group, N> out{};
    std::size_t count = 0;
    std::size_t i = 1; // node 0 is the input
    while (i < N) {
        group g;
        g.begin = i;
        if (!fuse) {
            g.fused = false;
            g.end = i + 1;
            g.chain_begin = g.chain_end = i;
            out[count++] = g;
            ++i;
            continue;
        }
        if (kind[i] == node_kind::contraction) {
            g.contraction = true;
            ++i;
        }
        g.chain_begin = i;
        if (i < N && kind[i] == node_kind::normalization) {
            g.normalization = true;
            ++i;
        }
        while (i < N && kind[i] == node_kind::elementwise)
            ++i;
        g.chain_end = i;
        if (i < N && kind[i] == node_kind::window && fusable[i]) {
            g.window = true;
            ++i;
        } else if (i < N && kind[i] == node_kind::window && channel[i] && g.contraction) {
            g.window = g.channel_window = true;
            ++i;
        }
        if (i == g.begin) { // a node that fuses with nothing
            g.fused = false;
            g.chain_begin = g.chain_end = i;
            ++i;
        }
        g.end = i;
        out[count++] = g;
    }
    return {out, count};
}
} // namespace detail

template <class Net, class Policy>
struct grouping {
    static constexpr auto all = detail::make_groups(kinds_v<Net>, fusable_window_v<Net>,
                                                    channel_window_v<Net>, Policy::fused);
    static constexpr std::size_t count = all.second;
    static constexpr std::array<group, count> groups = [] {
        std::array<group, count> g{};
        for (std::size_t k = 0; k < count; ++k)
            g[k] = all.first[k];
        return g;
    }();
};

template <class Net, class Policy>
inline constexpr auto groups_v = grouping<Net, Policy>::groups;

} // namespace maso::plan
