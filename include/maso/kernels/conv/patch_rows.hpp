// maso/kernels/conv/patch_rows.hpp — B of a convolution's forward product Z = W · cols,
// gathered from the padded input or read where it lies (kernels/implicit_conv.hpp).
#pragma once

#include <maso/kernels/conv/padding.hpp>
#include <maso/kernels/conv/patch_runs.hpp>
#include <maso/kernels/gemm/register_tile.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/simd/deinterleave.hpp>
#include <maso/simd/strided.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <type_traits>

namespace maso::kernels {

namespace detail {

/// patch_rows's panels read in place by the GEMM's micro-kernel (kernels/gemm.hpp):
/// row k of the panel is batch v at p + col[v], where p walks the padded input tap
/// by tap — one column, then the next row at the K-th, the next channel at the K²-th.
/// With `pairs`, the batches are two output rows of 2W pixels each ([row 0: W, W]
/// [row 1: W, W]), and finish() deinterleaves them in registers into window order:
/// batch r = member (r / 2, r % 2) of the W windows. At Stride 2 a batch is the even
/// entries of 2W − 1 (simd::load_even), which span two cache lines.
template <class Arch, class Blocking, class T, std::size_t Stride = 1>
struct patch_reader {
    using batch = xsimd::batch<T, Arch>;
    static constexpr std::size_t NV = Blocking::NV;
    const T* p;
    std::size_t kx, ky, K;
    std::size_t row_step;     ///< from the end of a tap row to the next row's start
    std::size_t channel_step; ///< from the end of K rows to the next channel's start
    std::size_t col[NV];
    bool pairs;

    std::size_t ahead; ///< one channel of the padded input

    /// The same tap's batches one channel on: a channel's rows are the next stretch of
    /// B this panel reads from L2 (measured 1.5% faster; only when the fetch is
    /// unconditional — a branch here cost the accumulators their registers).
    [[gnu::always_inline]] void prefetch() const {
        unroll<NV>([&](auto v) __attribute__((always_inline)) {
            __builtin_prefetch(p + ahead + col[v], 0, 3);
            if constexpr (Stride == 2) __builtin_prefetch(p + ahead + col[v] + batch::size, 0, 3);
        });
    }
    [[gnu::always_inline]] batch load(std::size_t v) const {
        if constexpr (Stride == 2)
            return simd::load_even(Arch{}, p + col[v]);
        else
            return batch::load_unaligned(p + col[v]);
    }
    [[gnu::always_inline]] void next() {
        ++p;
        if (++kx == K) {
            kx = 0;
            p += row_step;
            if (++ky == K) ky = 0, p += channel_step;
        }
    }
    template <std::size_t MR>
    [[gnu::always_inline]] void finish([[maybe_unused]] batch (&acc)[MR][NV]) const {
        // Pairs are read with AVX-512 float only (patch_rows::direct).
        if constexpr (simd::detail::is_avx512<Arch> && std::is_same_v<T, float> && NV == 4) {
            if (!pairs) return;
            // Constant indices only: the accumulators must stay in registers.
            unroll<MR>([&](auto i) __attribute__((always_inline)) {
                unroll<2>([&](auto dy) __attribute__((always_inline)) {
                    const auto members =
                        simd::deinterleave<2>(std::array{acc[i][2 * dy], acc[i][2 * dy + 1]});
                    acc[i][2 * dy] = members[0];
                    acc[i][2 * dy + 1] = members[1];
                });
            });
        }
    }
};

} // namespace detail

/// B of Z = W · cols: K = the Cin·K·K taps, N = the columns of `order`, read from
/// xp = pad_input(x). MaxN bounds the block width nc (the GEMM's NC).
///
/// At stride 1 a panel whose every batch of W columns is W neighbouring pixels of
/// one output row needs no packing: tap by tap, its batches are W neighbouring
/// entries of one row of xp, which the micro-kernel loads in place (`direct`; the
/// packing cost ≈ 10% of the product with Cout = 96, as each packed entry serves
/// only Cout/MR micro-kernel calls). In natural order that is every panel when W
/// divides the output width. In 2×2-window order with AVX-512 float (W windows per
/// tile), a tile's windows are W neighbours in one pooled row: the micro-kernel
/// loads the two output rows under them as they lie and deinterleaves the finished
/// tile into window order (patch_reader::finish). At stride 2 (Stride = 2, the
/// stride the source is built for, as the reader's loads depend on it) the same holds
/// in natural order with AVX-512 float, whose batches are the even entries of a row
/// (packing them cost a quarter of the product with Cout = 96). `in_place = false`
/// packs every panel (the tests compare both: the sums are the same, in the same order).
template <class T, std::size_t MaxN, std::size_t Stride = 1>
struct patch_rows {
    conv_geometry g;
    patch_order order;
    const T* xp;
    bool in_place = true;

    template <class Arch, class Blocking>
    std::optional<detail::patch_reader<Arch, Blocking, T, Stride>>
    direct(std::size_t pc, std::size_t j0, std::size_t n) const {
        constexpr std::size_t W = xsimd::batch<T, Arch>::size, NV = Blocking::NV;
        if (!in_place || g.stride != Stride || n != NV * W) return std::nullopt;
        if constexpr (Stride != 1) { // only stride 2 has its loads (load_even)
            constexpr bool even_loads =
                Stride == 2 && simd::detail::is_avx512<Arch> && std::is_same_v<T, float>;
            if (!even_loads || !order.is_natural()) return std::nullopt;
        }
        const std::size_t ho = g.out_height(), wo = g.out_width();
        const std::size_t hp = g.height + 2 * g.pad, wp = g.width + 2 * g.pad;
        detail::patch_reader<Arch, Blocking, T, Stride> r{};
        if (order.is_natural()) {
            for (std::size_t v = 0; v < NV; ++v) {
                const std::size_t j = j0 + v * W, image = j / (ho * wo), q = j % (ho * wo);
                const std::size_t oy = q / wo, ox = q % wo;
                if (ox + W > wo) return std::nullopt;
                r.col[v] = (image * hp + Stride * oy) * wp + Stride * ox;
            }
        } else {
            constexpr bool lanes_fit =
                simd::detail::is_avx512<Arch> && std::is_same_v<T, float> && NV == 4;
            if constexpr (!lanes_fit) {
                return std::nullopt;
            } else {
                const auto at = detail::pair_rows_of(g, order, j0 / (NV * W), W);
                if (!at) return std::nullopt;
                const std::size_t first = (at->image * hp + at->oy) * wp + at->ox;
                r.col[0] = first, r.col[1] = first + W, r.col[2] = first + wp,
                r.col[3] = first + wp + W;
                r.pairs = true;
            }
        }
        const detail::tap_offsets tap(g, pc);
        r.p = xp + *tap;
        r.kx = tap.kx, r.ky = tap.ky, r.K = g.kernel;
        r.row_step = wp - g.kernel;
        r.channel_step = (tap.plane - g.kernel) * wp;
        r.ahead = tap.plane * wp;
        return r;
    }

    template <class Arch, std::size_t NR>
    void pack(T* dst, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) const {
        // The runs of the whole block once; then tap by tap, each run into its panel.
        detail::patch_run scratch[MaxN];
        detail::padded_run runs[MaxN];
        const std::size_t count =
            detail::padded_runs(g, order, jc, nc, NR, scratch, runs,
                                [kc](std::size_t j) { return j / NR * NR * kc + j % NR; });
        const std::size_t stride = detail::run_step(g, order);
        const std::size_t tail = nc % NR, last = nc / NR * NR * kc;
        detail::tap_offsets tap(g, pc);
        const std::size_t ahead = tap.plane * tap.wp; // one channel on
        for (std::size_t k = 0; k < kc; ++k, tap.next()) {
            const T* base = xp + *tap;
            T* row = dst + k * NR;
            // At a channel's first tap of a row, the runs' entries in the next channel are
            // fetched: channels lie a plane apart, which the hardware's prefetchers do not
            // follow, and short runs (rows of 6 or 8 pixels) then waited on every load.
            const bool fetch = tap.kx == 0 && tap.c + 1 < g.channels;
            for (std::size_t r = 0; r < count; ++r) {
                const detail::padded_run& u = runs[r];
                if (u.padding) {
                    std::fill_n(row + u.dst, u.count, T(0));
                    continue;
                }
                if (fetch) {
                    const T* next = base + ahead + u.src;
                    __builtin_prefetch(next, 0, 3);
                    __builtin_prefetch(next + stride * (u.count - 1) + g.kernel - 1, 0, 3);
                }
                simd::copy_strided(Arch{}, base + u.src, stride, row + u.dst, 1, u.count);
            }
            if (tail)
                for (std::size_t j = tail; j < NR; ++j)
                    dst[last + k * NR + j] = T(0);
        }
    }
};

} // namespace maso::kernels
