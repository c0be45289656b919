// maso/kernels/conv/patch_columns.hpp — B of a convolution's weight gradient dW = dZ · colsᵀ,
// gathered from the padded input (kernels/implicit_conv.hpp).
#pragma once

#include <maso/kernels/conv/padding.hpp>
#include <maso/kernels/conv/patch_runs.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/simd/lane_gather.hpp>
#include <maso/simd/strided.hpp>
#include <maso/simd/transpose.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace maso::kernels {

/// B of dW = dZ · colsᵀ: K = the columns of `order`, N = the taps, read from
/// xp = pad_input(x). MaxK bounds the block depth kc (the GEMM's KC).
template <class T, std::size_t MaxK>
struct patch_columns {
    conv_geometry g;
    patch_order order;
    const T* xp;

    template <class Arch, std::size_t NR>
    void pack(T* dst, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) const {
        detail::patch_run scratch[MaxK];
        detail::padded_run runs[MaxK];
        const std::size_t count = detail::padded_runs(g, order, pc, kc, MaxK, scratch, runs,
                                                      [](std::size_t j) { return j * NR; });
        const std::size_t stride = detail::run_step(g, order);
        detail::tap_offsets tap(g, jc);
        // The gathered rows where the ISA gathers 16 floats in one instruction (AVX-512);
        // its offsets are 32-bit.
        if constexpr (simd::detail::is_avx512<Arch> && std::is_same_v<T, float> &&
                      NR % xsimd::batch<T, Arch>::size == 0) {
            if (padded_size(g) < (std::size_t(1) << 31)) {
                gather_rows<Arch, NR>(dst, kc, nc, runs, count, stride, tap);
                return;
            }
        }
        for (std::size_t jr = 0; jr < nc; jr += NR, dst += NR * kc) {
            const std::size_t taps = std::min(NR, nc - jr);
            for (std::size_t j = 0; j < taps; ++j, tap.next()) {
                const T* base = xp + *tap;
                for (std::size_t r = 0; r < count; ++r) {
                    const detail::padded_run& u = runs[r];
                    if (u.padding)
                        for (std::size_t i = 0; i < u.count; ++i)
                            dst[u.dst + i * NR + j] = T(0);
                    else
                        simd::copy_strided(Arch{}, base + u.src, stride, dst + u.dst + j, NR,
                                           u.count);
                }
            }
            if (taps < NR)
                for (std::size_t k = 0; k < kc; ++k)
                    for (std::size_t j = taps; j < NR; ++j)
                        dst[k * NR + j] = T(0);
        }
    }

private:
    /// A panel row is one column's entries for NR consecutive taps, and tap j's entry for the
    /// column at input offset p is xp[offset(j) + p]: so each row is NR/W gathers whose
    /// offsets (the taps') are fixed per panel, shifted by p (simd::lane_gather). Measured
    /// about twice as fast as storing one element at a time at a stride of NR, which was
    /// most of the weight gradient's packing. Lanes past the last tap read as 0.
    template <class Arch, std::size_t NR>
    void gather_rows(T* dst, std::size_t kc, std::size_t nc, const detail::padded_run* runs,
                     std::size_t count, std::size_t stride, detail::tap_offsets tap) const {
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size, V = NR / W;
        for (std::size_t jr = 0; jr < nc; jr += NR, dst += NR * kc) {
            const std::size_t taps = std::min(NR, nc - jr);
            alignas(64) std::int32_t offsets[NR] = {};
            for (std::size_t j = 0; j < taps; ++j, tap.next())
                offsets[j] = static_cast<std::int32_t>(*tap);
            std::array<simd::lane_gather<T, Arch>, V> gather = [&]<std::size_t... v>(
                std::index_sequence<v...>) {
                return std::array{simd::lane_gather<T, Arch>(
                    offsets + W * v, taps > W * v ? std::min(W, taps - W * v) : 0)...};
            }
            (std::make_index_sequence<V>{});
            for (std::size_t r = 0; r < count; ++r) {
                const detail::padded_run& u = runs[r];
                T* row = dst + u.dst; // u.dst = k·NR
                std::size_t i = 0;
                if (!u.padding && stride <= 2)
                    for (; i + W <= u.count; i += W, row += W * NR)
                        transpose_block<Arch, NR>(row, offsets, taps, u.src + i * stride, stride);
                for (; i < u.count; ++i, row += NR) {
                    const auto at = static_cast<std::int32_t>(u.src + i * stride);
                    for (std::size_t v = 0; v < V; ++v)
                        (u.padding ? batch(T(0)) : gather[v](xp, at)).store_aligned(row + W * v);
                }
            }
        }
    }

    /// W columns of a run at once, their input entries xp[offset(j) + src + i·stride],
    /// i < W: per batch of W taps, W loads along the run (stride 2: the even values) and a
    /// W×W transpose in registers into W panel rows — about half the time of W gathers.
    /// Taps past `taps` are 0.
    template <class Arch, std::size_t NR>
    void transpose_block(T* row, const std::int32_t* offsets, std::size_t taps, std::size_t src,
                         std::size_t stride) const {
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size;
        for (std::size_t v = 0; v < NR / W && W * v < taps; ++v) {
            std::array<batch, W> r;
            for (std::size_t j = 0; j < W; ++j) {
                if (W * v + j >= taps) {
                    r[j] = batch(T(0));
                    continue;
                }
                const T* p = xp + offsets[W * v + j] + src;
                // At stride 2 the value after the run's last is never read.
                r[j] = stride == 1 ? batch::load_unaligned(p) : simd::load_even(Arch{}, p);
            }
            simd::transpose(r);
            for (std::size_t i = 0; i < W; ++i)
                r[i].store_aligned(row + i * NR + W * v);
        }
        for (std::size_t v = (taps + W - 1) / W; v < NR / W; ++v) // whole batches past the taps
            for (std::size_t i = 0; i < W; ++i)
                batch(T(0)).store_aligned(row + i * NR + W * v);
    }
};

} // namespace maso::kernels
