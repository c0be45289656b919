// maso/run/statistics_epilogue.hpp — a batch-norm group's product in training: z (+ bias)
// stored from the register tiles, and the batch statistics gathered there
// (plan product_kind::statistics).
//
// No pass over z computes them: each tile leaves one (x₀, δ, Σ(x − x₀ − δ)²) per row,
// wherever the GEMM's split put it, and they are merged per channel in tile order (Chan
// et al.'s pairwise update, in double), so the statistics do not depend on the thread
// count. In evaluation the tiles only store z + bias, and the statistics are the running
// ones. The chain then runs as a pass over z (the group's `then`).
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm/register_tile.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/run/group_context.hpp>
#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <array>
#include <cstddef>

namespace maso::run {

namespace detail {

/// Tiles of z per channel of m columns in natural order: the epilogue's partial sums per
/// channel.
template <class Blocking>
constexpr std::size_t tiles_per_row(std::size_t m) {
    return (m + Blocking::NR - 1) / Blocking::NR;
}

/// The epilogue in training (a batch-norm group: plan product statistics): z + bias
/// stored in natural order, and for each row (channel) i of the tile, over its n
/// columns: the first value x₀, the mean δ of x − x₀ and the sum of squares
/// Σ(x − x₀ − δ)², at partial[((i0 + i)·tiles + j0/NR)·3]. The float sums see only
/// the spread of the values, not their offset: x − x₀ is exact for values near x₀
/// (Sterbenz), and the squares are centred on the tile's mean x₀ + δ, so neither
/// a channel whose mean dwarfs its spread nor a Σx² − (Σx)²/n cancellation costs
/// digits. One entry per tile, whichever thread runs it, so the merge
/// (statistics_forward) reads the same numbers for any split of the GEMM. With
/// no `partial` (evaluation) it only stores z + bias.
template <class Ctx>
struct statistics_epilogue {
    using T = typename Ctx::T;
    using arch = typename Ctx::arch;
    using blocks = typename Ctx::blocking;
    static constexpr bool before_norm = Ctx::strategy.bias == maso::plan::bias_kind::before_norm;
    static constexpr std::size_t MR = blocks::MR, NV = blocks::NV, NR = blocks::NR;
    T* z;
    std::size_t z_ld; ///< columns of z per channel: batch·plane
    T* partial;
    std::size_t tiles; ///< per channel: tiles_per_row(z_ld)
    const T* bias;     ///< per channel, before a norm only (statistics_forward)

    template <class Batch>
    void operator()(Batch (&acc)[MR][NV], std::size_t i0, std::size_t j0, std::size_t m,
                    std::size_t n) {
        constexpr std::size_t W = Batch::size;
        if constexpr (before_norm) {
            for (std::size_t i = 0; i < MR; ++i)
                for (std::size_t v = 0; v < NV; ++v)
                    acc[i][v] += Batch(bias[i0 + (i < m ? i : 0)]);
        }
        kernels::store_tile<arch>(acc, z + i0 * z_ld + j0, z_ld, m, n);
        if (!partial) return;
        for (std::size_t i = 0; i < m; ++i) {
            alignas(64) T r[NR];
            for (std::size_t v = 0; v < NV; ++v)
                acc[i][v].store_aligned(r + v * W);
            const T x0 = r[0];
            T delta = 0, ss = 0;
            if (n == NR) {
                const Batch shift(x0);
                Batch s(T(0));
                for (std::size_t v = 0; v < NV; ++v)
                    s += acc[i][v] - shift;
                delta = xsimd::hadd(s) / T(NR);
                const Batch mean(delta);
                Batch q(T(0));
                for (std::size_t v = 0; v < NV; ++v) {
                    const Batch d = (acc[i][v] - shift) - mean;
                    q = simd::fmadd(d, d, q);
                }
                ss = xsimd::hadd(q);
            } else { // the last tile of the row: only its n columns count
                for (std::size_t j = 0; j < n; ++j)
                    delta += r[j] - x0;
                delta /= T(n);
                for (std::size_t j = 0; j < n; ++j) {
                    const T d = (r[j] - x0) - delta;
                    ss += d * d;
                }
            }
            T* p = partial + ((i0 + i) * tiles + j0 / NR) * 3;
            p[0] = x0;
            p[1] = delta;
            p[2] = ss;
        }
    }
};

} // namespace detail

/// The buffer of partial sums statistics_forward needs for a batch: 3 per row and tile.
template <class Ctx>
constexpr std::size_t statistics_size(std::size_t batch) {
    return Ctx::z_shape::channels * 3 *
           detail::tiles_per_row<typename Ctx::blocking>(batch * Ctx::z_shape::plane);
}

/// z (+ bias) from the GEMM's tiles in natural order, and the batch norm's statistics: in
/// training the batch's, gathered on the tiles and merged here; in evaluation the running
/// ones.
template <class Ctx>
void statistics_forward(const Ctx& ctx) {
    using T = typename Ctx::T;
    using S = typename Ctx::z_shape;
    using blocks = typename Ctx::blocking;
    constexpr plan::group g = Ctx::g;
    auto& bn = ctx.template layer<g.chain_begin>();
    const auto nio = ctx.template io<g.chain_begin>(ctx.z);
    const std::size_t m = ctx.batch * S::plane, tiles = detail::tiles_per_row<blocks>(m);
    const bool training = ctx.phase != mode::evaluation;
    if (training) bn.begin_batch(nio); // throws for m < 2 before any work
    std::array<T, S::channels> bias{};
    if constexpr (detail::statistics_epilogue<Ctx>::before_norm)
        for (std::size_t c = 0; c < S::channels; ++c)
            bias[c] = ctx.bias_before_norm(c);
    ctx.template layer<g.begin>().forward_affine(
        ctx.template io<g.begin>(ctx.x, ctx.z), kernels::patch_order::natural(),
        detail::statistics_epilogue<Ctx>{ctx.z, m, training ? ctx.tile_stats.data() : nullptr,
                                         tiles, bias.data()});
    if (!training) {
        bn.running_statistics(nio);
        return;
    }
    // Per channel, the tiles' (count, x₀ + δ, Σ(x − x₀ − δ)²) in column order by the
    // pairwise update of Chan, Golub and LeVeque ("Algorithms for computing the sample
    // variance", 1983): δ = mean_b − mean, mean += δ·n_b/n, ss += ss_b + δ²·n_a·n_b/n —
    // in double, like batch_norm's own two passes, to which it agrees to float rounding.
    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c) {
            const T* p = ctx.tile_stats.data() + c * tiles * 3;
            double mean = 0, ss = 0, count = 0;
            for (std::size_t t = 0; t < tiles; ++t, p += 3) {
                const double nb = double(std::min(blocks::NR, m - t * blocks::NR));
                const double total = count + nb;
                const double delta = (double(p[0]) - mean) + double(p[1]);
                mean += delta * (nb / total);
                ss += double(p[2]) + delta * delta * (count * nb / total);
                count = total;
            }
            bn.batch_statistics(nio, c, mean, ss, m);
        }
    });
    bn.commit_batch(nio, m);
}

} // namespace maso::run
