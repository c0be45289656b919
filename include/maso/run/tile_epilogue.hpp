// maso/run/tile_epilogue.hpp — a group's chain and window on the contraction's register
// tiles (plan product_kind::tiles).
//
// On each finished tile of z = W·x: the bias first before a batch norm (whose input is
// z + bias), z stored for backward, then per row (channel) the chain in registers and
// the window — a K×K pooling across the tile's columns (z's columns in window order:
// kernels/patch_order.hpp) or a channel window (maxout<R>) across its rows — and the
// group's output stored. The tile reaches the epilogue through a function pointer
// (kernels/gemm/register_tile.hpp), in memory.
#pragma once

#include <maso/kernels/gemm/register_tile.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/run/codes.hpp>
#include <maso/run/group_context.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace maso::run {

namespace detail {

/// The window math a context's tiles pool with (`char`, unused, without a tile window).
template <class Ctx, bool = Ctx::strategy.window != 0 || Ctx::strategy.channels_on_tiles>
struct tile_lanes {
    using type = char;
};
template <class Ctx>
struct tile_lanes<Ctx, true> {
    using type = std::decay_t<decltype(std::declval<const Ctx&>().lanes(0))>;
};

/// What the epilogue needs of every channel — its chain's ops, its window math (per
/// output channel), its bias before a batch norm — built once per forward on the
/// caller's stack and shared by the threads' copies of the epilogue. (A cache of the
/// current tile row's was rebuilt at nearly every tile: inside a block of columns the
/// GEMM moves to the next row of tiles.)
template <class Ctx>
struct tile_tables {
    static constexpr auto strategy = Ctx::strategy;
    static constexpr std::size_t rows = Ctx::z_shape::channels;
    static constexpr std::size_t windows =
        strategy.channels_on_tiles ? rows / strategy.channel_group : rows;
    static constexpr bool before_norm = strategy.bias == maso::plan::bias_kind::before_norm;
    std::array<std::optional<typename Ctx::chain_type>, rows> ops{}; ///< not default-constructible
    std::array<std::optional<typename tile_lanes<Ctx>::type>, windows> lanes{};
    std::array<typename Ctx::T, before_norm ? rows : 0> bias{};
    /// Where the units' and the window's codes go (run/codes.hpp), when they are recorded.
    decltype(std::declval<const Ctx&>().chain_sinks()) sinks{};
    const node_codes<typename Ctx::T>* window_sink = nullptr;
    bool coded = false;
    bool one_bit = true; ///< every unit one bit, no posteriors: the row-word path

    explicit tile_tables(const Ctx& ctx) {
        if constexpr (Ctx::chain_codes || Ctx::window_codes) {
            sinks = ctx.chain_sinks();
            window_sink = ctx.window_sink();
            coded = window_sink != nullptr;
            for (const auto* s : sinks) {
                coded = coded || s != nullptr;
                if (s && (s->planes() != 1 || s->posteriors)) one_bit = false;
            }
        }
        for (std::size_t c = 0; c < rows; ++c)
            ops[c].emplace(ctx.chain_ops(c));
        if constexpr (before_norm)
            for (std::size_t c = 0; c < rows; ++c)
                bias[c] = ctx.bias_before_norm(c);
        if constexpr (strategy.window != 0 || strategy.channels_on_tiles)
            for (std::size_t c = 0; c < windows; ++c)
                lanes[c].emplace(ctx.lanes(c));
    }
};

/// The epilogue on one finished tile. A channel window (maxout<R>, R | MR) reduces each R
/// rows lane-wise into one output row (i0 + i)/R, in the natural column order: i0 is a
/// multiple of MR, and the m rows of a partial tile a multiple of R, as the channel count
/// is. Each thread has its own copy.
template <class Ctx>
struct tile_epilogue {
    using T = typename Ctx::T;
    using arch = typename Ctx::arch;
    static constexpr auto strategy = Ctx::strategy;
    static constexpr std::size_t MR = Ctx::blocking::MR, NV = Ctx::blocking::NV;
    /// Tiles narrower than a word share its code bits with the next tile, which another
    /// thread may hold (run/codes.hpp).
    static constexpr bool shared_words = Ctx::blocking::NR % 64 != 0;
    static_assert(Ctx::blocking::NR <= 64, "a tile row's code bits fill at most one word");
    T* z;
    std::size_t z_ld; ///< columns of z per channel
    T* out;
    std::size_t out_ld;  ///< group output per channel
    std::size_t windows; ///< per channel, window order only
    const tile_tables<Ctx>* t;

    template <class Batch>
    void operator()(Batch (&acc)[MR][NV], std::size_t i0, std::size_t j0, std::size_t m,
                    std::size_t n) {
        constexpr std::size_t W = Batch::size;
        // Rows past m (a partial tile) reuse row 0's ops: their values are dropped.
        auto row = [&](std::size_t i) { return i0 + (i < m ? i : 0); };
        if constexpr (tile_tables<Ctx>::before_norm)
            for (std::size_t i = 0; i < MR; ++i)
                for (std::size_t v = 0; v < NV; ++v)
                    acc[i][v] += Batch(t->bias[row(i)]);
        // z is kept for backward, unless it is the output itself (a convolution whose
        // chain is its bias alone: the bias's backward does not read it).
        if (z != out) kernels::store_tile<arch>(acc, z + i0 * z_ld + j0, z_ld, m, n);
        bool coded = false;
        if constexpr (Ctx::chain_codes || Ctx::window_codes) coded = t->coded;
        if constexpr (Ctx::chain_codes)
            if (coded) {
                // The units' codes from the values in the registers, at z's columns: a row's
                // bits gathered into one word per unit node (a tile row is at most 64
                // columns), or-ed once; units of more regions, and posteriors, lane by lane.
                for (std::size_t i = 0; i < MR; ++i) {
                    const auto& ops = *t->ops[row(i)];
                    if (t->one_bit) {
                        std::array<std::uint64_t, std::tuple_size_v<typename Ctx::chain_type>>
                            words{};
                        for (std::size_t v = 0; v < NV; ++v)
                            acc[i][v] = chain_value_bits(ops, acc[i][v], words, v * W);
                        if (i < m)
                            for (std::size_t k = 0; k < words.size(); ++k)
                                if (t->sinks[k]) {
                                    const std::uint64_t m =
                                        n < 64 ? words[k] & ((std::uint64_t(1) << n) - 1)
                                               : words[k];
                                    if constexpr (Ctx::blocking::NR == 64) // the tile's own word
                                        t->sinks[k]->store_word(i0 + i, j0, m);
                                    else
                                        t->sinks[k]->template put_bits<shared_words>(i0 + i, j0, m);
                                }
                        continue;
                    }
                    for (std::size_t v = 0; v < NV; ++v) {
                        const std::size_t valid = i < m && n > v * W ? std::min(W, n - v * W) : 0;
                        acc[i][v] = valid ? coded_chain_value<shared_words>(
                                                ops, t->sinks, acc[i][v], i0 + i, j0 + v * W, valid)
                                          : kernels::chain_value(ops, acc[i][v]);
                    }
                }
            }
        if (!coded || !Ctx::chain_codes)
            for (std::size_t i = 0; i < MR; ++i)
                for (std::size_t v = 0; v < NV; ++v)
                    acc[i][v] = kernels::chain_value(*t->ops[row(i)], acc[i][v]);
        if constexpr (strategy.window != 0) {
            // The tile is one group of L windows, member r of window l at column r·L + l.
            // With L = W (2×2 with AVX-512, float or double: R = NV) batch r holds member
            // r; with L < W the row goes through memory and member r is the batch at r·L,
            // whose lanes past L (other members) make windows nobody reads.
            constexpr std::size_t R = strategy.window * strategy.window, L = NV * W / R;
            const std::size_t w0 = j0 / (NV * W) * L, valid = std::min(L, windows - w0);
            for (std::size_t i = 0; i < m; ++i) {
                std::array<Batch, R> v;
                if constexpr (L == W) {
                    for (std::size_t r = 0; r < R; ++r)
                        v[r] = acc[i][r];
                } else {
                    alignas(64) T members[NV * W + W] = {};
                    for (std::size_t u = 0; u < NV; ++u)
                        acc[i][u].store_aligned(members + u * W);
                    for (std::size_t r = 0; r < R; ++r)
                        v[r] = Batch::load_unaligned(members + r * L);
                }
                const auto& lanes = *t->lanes[i0 + i];
                const Batch y = [&] {
                    if constexpr (Ctx::window_codes)
                        if (t->window_sink && valid > 0) {
                            // The tile's L windows own a word (node_codes::group): no other
                            // thread writes it.
                            constexpr std::size_t P = std::bit_width(R - 1);
                            Batch best;
                            const auto bits = first_max_bits<P>(v, best);
                            const std::uint64_t keep = (std::uint64_t(1) << valid) - 1;
                            for (std::size_t q = 0; q < P; ++q)
                                t->window_sink->store_word((i0 + i) * P + q, w0 / L * 64,
                                                           bits[q] & keep);
                            if (t->window_sink->posteriors)
                                t->window_sink->put_posteriors(
                                    i0 + i, w0 / L * 64, lanes.template posteriors<R>(v), valid);
                            // A hard window's output is the maximum its code was found with.
                            return lanes.hard ? best : lanes.template forward<R>(v);
                        }
                    return lanes.template forward<R>(v);
                }();
                T* o = out + (i0 + i) * out_ld + w0;
                if (valid == W) {
                    y.store_unaligned(o);
                } else {
                    alignas(64) T lane[W];
                    y.store_aligned(lane);
                    std::copy_n(lane, valid, o);
                }
            }
        } else if constexpr (strategy.channels_on_tiles) {
            // Output row o of the tile: rows oR … oR + R − 1 reduced lane-wise.
            constexpr std::size_t R = strategy.channel_group;
            for (std::size_t o = 0; o < m / R; ++o)
                for (std::size_t v = 0; v < NV; ++v) {
                    std::array<Batch, R> members;
                    for (std::size_t r = 0; r < R; ++r)
                        members[r] = acc[o * R + r][v];
                    if constexpr (Ctx::window_codes)
                        if (t->window_sink && n > v * W) {
                            const std::size_t c = i0 / R + o, valid = std::min(W, n - v * W);
                            t->window_sink->template put<shared_words>(
                                c, j0 + v * W, first_max_index<R>(members), valid);
                            if (t->window_sink->posteriors)
                                t->window_sink->put_posteriors(
                                    c, j0 + v * W, t->lanes[c]->template posteriors<R>(members),
                                    valid);
                        }
                    acc[o][v] = t->lanes[i0 / R + o]->template forward<R>(members);
                }
            kernels::store_tile<arch>(acc, out + i0 / R * out_ld + j0, out_ld, m / R, n);
        } else {
            kernels::store_tile<arch>(acc, out + i0 * out_ld + j0, out_ld, m, n);
        }
    }
};

} // namespace detail

/// The group's forward as the contraction's product with the chain and window on its
/// tiles; z is written in `order` (window order when the tiles pool).
template <class Ctx>
void tile_forward(const Ctx& ctx, kernels::patch_order order) {
    constexpr auto strategy = Ctx::strategy;
    auto& contraction = ctx.template layer<Ctx::g.begin>(); // conv2d or dense
    const std::size_t cols = contraction.columns(ctx.batch, order);
    std::size_t out_ld = ctx.batch * Ctx::z_shape::plane, windows = 0;
    if constexpr (strategy.window != 0) {
        windows = ctx.batch * Ctx::out_shape::plane;
        out_ld = windows;
    }
    const detail::tile_tables<Ctx> tables(ctx);
    contraction.forward_affine(
        ctx.template io<Ctx::g.begin>(ctx.x, ctx.z), order,
        detail::tile_epilogue<Ctx>{ctx.z, cols, ctx.out, out_ld, windows, &tables});
}

} // namespace maso::run
