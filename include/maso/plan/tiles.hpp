// maso/plan/tiles.hpp — which fused groups run on the GEMM's register tiles.
//
// A fused group [contraction] [normalization] elementwise* [window] whose
// contraction is a convolution or a dense layer runs its bias and units as the
// epilogue of the contraction's GEMM, on each finished register tile
// (plan/lower.hpp). Its window joins them when a tile can hold whole windows: a K×K
// pooling layer with lane math (`lanes`: max, average, softpool) whose K² members
// divide the tile's NR columns, which then hold L = NR/K² windows (window order,
// kernels/implicit_conv.hpp) — 2×2 on every ISA (L = 16 with AVX-512 float, where
// each of the four batches of a row is one member; 4, 2 or 1 below it, where the row
// is regrouped through memory), 4×4 with AVX-512 float; otherwise the window runs as
// a pass over the planes, and so does the chain before it. A channel window
// (maxout<R>, plan/group.hpp) reduces R consecutive rows of a tile — R channels —
// lane-wise into one output row, so it joins the tiles when R divides the tile's MR
// rows (6 on every ISA: R = 1, 2, 3, 6), and a tile's output rows are then whole;
// otherwise one pass over z per output channel runs the chain and the window after
// the GEMM. After a dense layer (a vector) the only window is a channel window.
//
// A contraction whose output is a vector (a dense layer) keeps units without a
// window or batch norm off the tiles: its z, units × batch, is small enough to be
// in L2 when one pass runs the chain after the GEMM, so the tiles save no traffic,
// while storing the group's output from inside the product costs the product more
// than that pass (the MLP of bench/networks_bench.cpp, forward: 0.84–0.97× fuse::none
// on the tiles, 0.98–1.01× with the pass; docs/performance.md (h)).
//
// A batch norm's apply needs its channel's statistics. In evaluation they are the
// running ones, constants known before the GEMM, so the whole chain (bias →
// batch-norm apply → units → window) runs on the tiles as above. In training they
// are the batch's, known only once all of z is: the tiles then store z (with the
// bias) and gather each channel's statistics from the registers, and one pass over
// z applies the chain afterwards. The plan is fixed at compile time and the mode
// is not, so a batch-norm group's tile_plan has both: `chain` and `window` say
// what its tiles do in evaluation, `statistics` that they gather in training.
//
// The answer depends on the value type and the ISA the program is built for, so it
// is a function of both; describe() asks about float on the default ISA.
#pragma once

#include <maso/kernels/gemm.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/plan/group.hpp>
#include <maso/plan/infer_shapes.hpp>

#include <array>
#include <utility>

namespace maso::plan {

/// Node I's layer for values T.
template <class Net, std::size_t I, class T>
using layer_at_t = typename type_at_t<I, flatten_t<Net>>::template layer<input_shape_t<Net, I>, T>;

struct tile_plan {
    bool chain = false;      ///< bias and units run on the GEMM's tiles (z in the GEMM's order);
                             ///< with a batch norm, in evaluation only (its apply joins them)
    bool window = false;     ///< and the window too (pooling, or a channel window)
    bool statistics = false; ///< a batch-norm group in training: the tiles store z + bias and
                             ///< gather its batch statistics; one pass over z runs the chain
};

template <class Net, class Policy, std::size_t K, class T = float, class Arch = xsimd::default_arch>
constexpr tile_plan tiles() {
    constexpr group g = groups_v<Net, Policy>[K];
    if constexpr (g.fused && g.contraction) {
        using C = layer_at_t<Net, g.begin, T>;
        // conv2d and dense: a GEMM that takes an epilogue, z laid out by columns().
        constexpr bool tiled = requires { C::columns(std::size_t{1}, kernels::patch_order{}); };
        constexpr bool norm = g.normalization;
        // A vector's units alone: one pass over z (above).
        constexpr bool pass = C::output::is_vector && g.chain_end > g.chain_begin && !norm;
        // Nothing for the tiles to do: a lone contraction without a bias.
        constexpr bool bare = !C::has_bias && g.chain_end == g.chain_begin;
        if constexpr (!tiled || ((pass || bare) && !g.window)) {
            return {};
        } else if constexpr (!g.window) {
            return {true, false, norm};
        } else if constexpr (g.channel_window) {
            constexpr std::size_t r = channel_groups_v<Net>[g.end - 1];
            constexpr bool fits = kernels::gemm_blocking<Arch, T>::MR % r == 0;
            return {fits, fits, norm};
        } else {
            using W = layer_at_t<Net, g.end - 1, T>;
            constexpr bool lanes = requires(const W& w, const typename W::io& io) {
                w.lanes(io, std::size_t{0});
            };
            if constexpr (lanes) {
                constexpr std::size_t k = type_at_t<g.end - 1, flatten_t<Net>>::window;
                constexpr bool fits = kernels::gemm_blocking<Arch, T>::NR % (k * k) == 0;
                return {fits, fits, norm};
            } else {
                return {false, false, norm};
            }
        }
    } else {
        return {};
    }
}

/// tiles() of every group, for code that walks the groups at run time.
template <class Net, class Policy, class T = float, class Arch = xsimd::default_arch>
inline constexpr auto tiles_v = []<std::size_t... K>(std::index_sequence<K...>) {
    return std::array<tile_plan, sizeof...(K)>{tiles<Net, Policy, K, T, Arch>()...};
}
(std::make_index_sequence<groups_v<Net, Policy>.size()>{});

} // namespace maso::plan
