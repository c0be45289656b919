// maso/plan/kernel_plan.hpp — pass 6: one record per group naming how its kernel runs.
//
// The passes before decide what fuses (plan/group.hpp), what is kept (plan/backward.hpp)
// and what the register tiles can hold (plan/tiles.hpp); this pass turns them into the
// strategy of each group's kernel, forward in each mode and backward:
//
//   product   none        no contraction: the kernel starts from the group's input
//             plain       z = W·x stored whole; whatever else the group does runs after it
//             tiles       the product with the group's chain (bias, batch-norm apply, units)
//                         and, when the tiles hold whole windows, its window as the epilogue
//                         of each register tile
//             statistics  the product storing z (+ the bias, before a batch norm) from its
//                         tiles and, in training, gathering the batch statistics there
//   then      none | chain (one pass over z, channel by channel) | planes (the chain and a
//             pooling window, plane by plane) | channel_window (maxout: the chains of R
//             channels and their window, one pass per output channel)
//   bias      none | chain (a pointwise op) | before_norm (added to z before the batch
//             statistics: by the tiles, or by a pass after a plain product)
//   backward  the window on whole groups of windows (after a forward that pooled on the
//             tiles: z is in window order) or on planes or across channels; the chain in
//             reverse in the same pass; the batch-norm correction; the bias gradient before
//             a norm; dW and dx.
//
// A batch norm's statistics are constants in evaluation, so a batch-norm group has a plan
// per mode. The record is a function of the value type and the ISA the program is built
// for (the tiles' size decides what they hold); the runtime (run/program.hpp) dispatches
// on it and decides nothing else, and describe() prints it.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/kernels/gemm/blocking.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/plan/backward.hpp>
#include <maso/plan/group.hpp>
#include <maso/plan/tiles.hpp>

#include <array>
#include <cstddef>
#include <utility>

namespace maso::plan {

enum class product_kind : unsigned char { none, plain, tiles, statistics };
enum class then_kind : unsigned char { none, chain, planes, channel_window };
enum class bias_kind : unsigned char { none, chain, before_norm };

/// A fused group's forward in one mode.
struct mode_plan {
    product_kind product = product_kind::none;
    then_kind then = then_kind::none;
    bool pools_on_tiles = false; ///< the window ran on the tiles: z is in window order
};

struct kernel_plan {
    group g;
    bool fused = false;      ///< false: the node's own forward and backward
    mode_plan training, evaluation;
    bias_kind bias = bias_kind::none;
    bool chain = false;      ///< a pointwise chain runs: bias (as an op) and/or nodes
    bool channels_on_tiles = false; ///< maxout reduces the tile's rows (evaluation, or no norm)
    std::size_t window = 0;  ///< k of a k×k window pooled on the tiles, else 0
    std::size_t lanes = 0;   ///< windows per group of window order (L = NR / k²)
    std::size_t channel_group = 1; ///< R of a channel window (maxout<R>), else 1

    constexpr const mode_plan& in(mode m) const noexcept {
        return m == mode::evaluation ? evaluation : training;
    }
    /// The order of z's columns after a forward in mode m.
    constexpr kernels::patch_order z_order(mode m) const noexcept {
        return in(m).pools_on_tiles ? kernels::patch_order::windows(window, lanes)
                                    : kernels::patch_order::natural();
    }
};

namespace detail {
/// Whether node I is a contraction with a bias.
template <class Net, std::size_t I>
constexpr bool contraction_has_bias() {
    if constexpr (I == 0)
        return false;
    else if constexpr (type_at_t<I, flatten_t<Net>>::kind != node_kind::contraction)
        return false;
    else
        return layer_at_t<Net, I, float>::has_bias;
}
} // namespace detail

/// Group K's kernel plan for values T on Arch.
template <class Net, class Policy, std::size_t K, class T = float,
          class Arch = xsimd::default_arch>
constexpr kernel_plan kernel_plan_of() {
    constexpr group g = groups_v<Net, Policy>[K];
    kernel_plan p;
    p.g = g;
    p.fused = g.fused;
    if constexpr (!g.fused) {
        return p;
    } else {
        constexpr tile_plan t = tiles<Net, Policy, K, T, Arch>();
        constexpr bool has_bias = g.contraction && detail::contraction_has_bias<Net, g.begin>();
        p.bias = !has_bias           ? bias_kind::none
                 : g.normalization   ? bias_kind::before_norm
                                     : bias_kind::chain;
        p.chain = g.chain_end > g.chain_begin || p.bias == bias_kind::chain;
        if constexpr (g.channel_window)
            p.channel_group = channel_groups_v<Net>[g.end - 1];
        // What runs after a product that did not take the whole group into its tiles.
        constexpr then_kind rest = g.channel_window ? then_kind::channel_window
                                   : g.window       ? then_kind::planes
                                   : g.chain_end > g.chain_begin || (g.contraction && has_bias && !g.normalization)
                                       ? then_kind::chain
                                       : then_kind::none;
        // On the tiles: the chain and (if they hold it) the window, with nothing after
        // unless the window stayed off the tiles.
        constexpr mode_plan on_tiles{
            product_kind::tiles,
            t.window || !g.window ? then_kind::none : rest,
            t.window && !g.channel_window};
        constexpr product_kind off_tiles =
            !g.contraction ? product_kind::none
            : t.statistics ? product_kind::statistics
                           : product_kind::plain;
        constexpr mode_plan pass{off_tiles, rest, false};
        if constexpr (t.chain) {
            p.training = g.normalization ? pass : on_tiles;
            p.evaluation = on_tiles;
        } else {
            p.training = p.evaluation = pass;
        }
        p.channels_on_tiles = t.window && g.channel_window;
        if constexpr (t.window && !g.channel_window) {
            p.window = type_at_t<g.end - 1, flatten_t<Net>>::window;
            p.lanes = kernels::gemm_blocking<Arch, T>::NR / (p.window * p.window);
        }
        return p;
    }
}

/// Every group's kernel plan.
template <class Net, class Policy, class T = float, class Arch = xsimd::default_arch>
inline constexpr auto kernel_plans_v = []<std::size_t... K>(std::index_sequence<K...>) {
    return std::array<kernel_plan, sizeof...(K)>{kernel_plan_of<Net, Policy, K, T, Arch>()...};
}
(std::make_index_sequence<groups_v<Net, Policy>.size()>{});

/// The names of the kernels a group runs, in order, as the runtime records them in an
/// instrumented build (run/trace.hpp) and describe() prints them.
struct kernel_list {
    std::array<const char*, 8> names{};
    std::size_t size = 0;
    constexpr void add(const char* n) noexcept { names[size++] = n; }
};

/// Forward in mode m.
constexpr kernel_list forward_kernels(const kernel_plan& p, mode m) noexcept {
    kernel_list k;
    if (!p.fused) {
        k.add("node");
        return k;
    }
    const mode_plan& mp = p.in(m);
    if (mp.product == product_kind::tiles) {
        k.add("tiles");
        return k;
    }
    if (mp.product == product_kind::statistics) {
        k.add("statistics");
    } else {
        if (mp.product == product_kind::plain) k.add("product");
        if (p.bias == bias_kind::before_norm) k.add("bias");
        if (p.g.normalization) k.add("norm_statistics");
    }
    if (mp.then == then_kind::channel_window) k.add("channel_window");
    if (mp.then == then_kind::planes) k.add("planes");
    if (mp.then == then_kind::chain) k.add("chain");
    return k;
}

/// Backward after a forward in mode m.
constexpr kernel_list backward_kernels(const kernel_plan& p, mode m) noexcept {
    kernel_list k;
    if (!p.fused) {
        k.add("node");
        return k;
    }
    const bool windowed = p.in(m).pools_on_tiles;
    if (windowed)
        k.add("tile_windows");
    else if (p.g.channel_window)
        k.add("channel_window");
    else if (p.g.window)
        k.add("planes");
    else if (p.chain)
        k.add("chain");
    if (p.g.normalization && !windowed) k.add("correction");
    if (p.bias == bias_kind::before_norm) k.add("bias_gradient");
    if (p.g.contraction) k.add("affine");
    return k;
}

constexpr const char* to_string(product_kind k) noexcept {
    switch (k) {
    case product_kind::none:
        return "none";
    case product_kind::plain:
        return "plain";
    case product_kind::tiles:
        return "tiles";
    case product_kind::statistics:
        return "statistics";
    }
    return "?";
}
constexpr const char* to_string(then_kind k) noexcept {
    switch (k) {
    case then_kind::none:
        return "none";
    case then_kind::chain:
        return "chain";
    case then_kind::planes:
        return "planes";
    case then_kind::channel_window:
        return "channel_window";
    }
    return "?";
}

} // namespace maso::plan
