// maso/kernels/conv/transposed.hpp — dx of a convolution at stride 1 as a convolution itself
// (kernels/implicit_conv.hpp).
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/conv/padding.hpp>
#include <maso/kernels/conv/patch_runs.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/simd/deinterleave.hpp>
#include <maso/simd/strided.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

namespace maso::kernels {

// ---- dx as a convolution --------------------------------------------------------------
//
// At stride 1, dx = col2im(Wᵀ · dZ) is itself a convolution: of dZ, zero-padded by
// Q = K − 1 − P, with the filters transposed (input and output channels swapped)
// and flipped (tap (ky, kx) ↔ (K−1−ky, K−1−kx)):
//   dx[c][n][y][x] = Σ_{o, ky, kx} Wt[c][(o·K + ky)·K + kx] · dzp[o][n][y + ky][x + kx].
// Its B operand is patch_rows over the padded dZ, read in place like the forward's,
// and dx comes out of the GEMM whole: no tile is scattered, nothing is zeroed first.

/// The geometry of that convolution, for a forward geometry g of `filters` filters
/// at stride 1: dZ's maps padded by K − 1 − P, whose output is g's input.
constexpr conv_geometry transposed_geometry(const conv_geometry& g, std::size_t filters) {
    return {filters, g.batch, g.out_height(), g.out_width(), g.kernel, 1, g.kernel - 1 - g.pad};
}

/// wt[c][(o·K + ky)·K + kx] = w[o][(c·K + K−1−ky)·K + K−1−kx]: the transposed, flipped
/// filters (Cin rows of filters·K² taps) of transposed_geometry's convolution.
template <class T>
void flip_filters(const T* w, std::size_t filters, std::size_t channels, std::size_t K, T* wt) {
    const std::size_t taps = K * K;
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t o = 0; o < filters; ++o)
            for (std::size_t t = 0; t < taps; ++t)
                wt[(c * filters + o) * taps + t] = w[(o * channels + c) * taps + taps - 1 - t];
}

/// dzp = dZ, whose columns are in order `o` of the forward geometry g (stride 1), as
/// pad_input lays out the input of transposed_geometry(g, filters): each filter's
/// maps zero-padded by K − 1 − P, zero too at pixels no column stands for (those
/// outside whole windows, which the window order leaves out). Filters are shared
/// among the pool's threads.
template <class Arch, class T>
void pad_columns(const conv_geometry& g, patch_order o, std::size_t filters, const T* dz, T* dzp) {
    const conv_geometry t = transposed_geometry(g, filters);
    if (o.is_natural()) {
        pad_input(t, dz, dzp);
        return;
    }
    const std::size_t hp = t.height + 2 * t.pad, wp = t.width + 2 * t.pad;
    const std::size_t plane = g.batch * hp * wp, n = o.columns(g);
    parallel_for(filters, [&](std::size_t f0, std::size_t f1, std::size_t) {
        std::fill(dzp + f0 * plane, dzp + f1 * plane, T(0));
        constexpr std::size_t chunk = 64;
        detail::patch_run runs[chunk];
        for (std::size_t j0 = 0; j0 < n; j0 += chunk) {
            if constexpr (simd::detail::is_avx512<Arch> && std::is_same_v<T, float>) {
                // A group of 16 windows in one pooled row: its four members, batches of 16,
                // interleave in pairs into the two output rows under them.
                if (const auto at = detail::pair_rows_of(g, o, j0 / chunk, 16)) {
                    using batch = xsimd::batch<float, Arch>;
                    const std::size_t first =
                        (at->image * hp + t.pad + at->oy) * wp + t.pad + at->ox;
                    for (std::size_t f = f0; f < f1; ++f) {
                        const float* m = dz + f * n + j0;
                        float* row = dzp + f * plane + first;
                        for (std::size_t dy = 0; dy < 2; ++dy, row += wp) {
                            const auto pixels = simd::interleave<2>(
                                std::array{batch::load_unaligned(m + 32 * dy),
                                           batch::load_unaligned(m + 32 * dy + 16)});
                            pixels[0].store_unaligned(row);
                            pixels[1].store_unaligned(row + 16);
                        }
                    }
                    continue;
                }
            }
            const std::size_t count = detail::patch_runs(g, o, j0, std::min(chunk, n - j0), runs);
            for (std::size_t f = f0; f < f1; ++f)
                for (std::size_t r = 0; r < count; ++r) {
                    const detail::patch_run& u = runs[r];
                    if (u.padding) continue;
                    T* row = dzp + f * plane + (u.n * hp + t.pad + u.oy) * wp + t.pad + u.ox0;
                    simd::add_strided(Arch{}, dz + f * n + j0 + u.offset, row, u.step, u.count);
                }
        }
    });
}

} // namespace maso::kernels
