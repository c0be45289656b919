// maso/kernels/im2col.hpp — convolution as a matrix product: im2col and its adjoint col2im.
//
//   cols[(c·K + ky)·K + kx][(n·Ho + oy)·Wo + ox] = x[c][n][oy·S + ky − P][ox·S + kx − P]
//
// (0 where the index falls in the zero padding). With the filters as the rows of
// W[Cout][Cin·K·K], z = W · cols is the convolution's output already in maso's
// channel-major layout [Cout][batch][Ho][Wo], so a convolution is one GEMM
// (kernels/gemm.hpp). col2im is the transpose of im2col, the map that takes
// ∂L/∂cols to ∂L/∂x: every window that covers a pixel adds its entry to it.
// Chellapilla, Puri & Simard, "High Performance Convolutional Neural Networks for
// Document Processing" (IWFHR 2006).
#pragma once

#include <maso/kernels/conv_geometry.hpp>

#include <algorithm>
#include <cstddef>

namespace maso::kernels {

namespace detail {

/// The output columns [lo, hi) whose input column ox·S + k − P lies inside
/// [0, width); outside it a window reads padding. lo ≤ hi ≤ Wo always.
struct column_range {
    std::size_t lo, hi;
};
constexpr column_range inside_columns(const conv_geometry& g, std::size_t k) {
    const std::size_t wo = g.out_width();
    // ox·S + k ≥ P  ⇔  ox ≥ ⌈(P − k)/S⌉
    const std::size_t lo = k >= g.pad ? 0 : (g.pad - k + g.stride - 1) / g.stride;
    // ox·S + k − P ≤ width − 1  ⇔  ox ≤ ⌊(width − 1 + P − k)/S⌋
    const std::size_t hi = g.width - 1 + g.pad < k ? 0 : (g.width - 1 + g.pad - k) / g.stride + 1;
    return {std::min(lo, wo), std::clamp(hi, std::min(lo, wo), wo)};
}

/// Calls f(offset of the cols row segment, input row or null for a padding row,
/// kx, inside columns) for every (tap, image, output row): the one traversal
/// im2col and col2im share, so that one is the transpose of the other by construction.
template <class T, class F>
void for_each_patch_row(const conv_geometry& g, T* x, F&& f) {
    const std::size_t K = g.kernel, S = g.stride, ho = g.out_height(), wo = g.out_width();
    const std::size_t plane = g.height * g.width, n_cols = g.columns();
    for (std::size_t c = 0; c < g.channels; ++c)
        for (std::size_t ky = 0; ky < K; ++ky)
            for (std::size_t kx = 0; kx < K; ++kx) {
                const std::size_t row = (c * K + ky) * K + kx;
                const column_range r = inside_columns(g, kx);
                for (std::size_t n = 0; n < g.batch; ++n) {
                    T* image = x + (c * g.batch + n) * plane;
                    for (std::size_t oy = 0; oy < ho; ++oy) {
                        const std::size_t col = row * n_cols + (n * ho + oy) * wo;
                        const std::size_t iy = oy * S + ky; // row of the padded map
                        const bool inside = iy >= g.pad && iy - g.pad < g.height;
                        f(col, inside ? image + (iy - g.pad) * g.width : nullptr, kx, r);
                    }
                }
            }
}

} // namespace detail

/// cols[Cin·K·K][batch·Ho·Wo] from x[Cin][batch][H][W]; cols is overwritten.
template <class T>
void im2col(const conv_geometry& g, const T* x, T* cols) {
    const std::size_t S = g.stride, wo = g.out_width();
    detail::for_each_patch_row(
        g, x, [&](std::size_t col, const T* in, std::size_t kx, detail::column_range r) {
            T* out = cols + col;
            if (!in) r = {wo, wo}; // a padding row: all zeros
            std::fill(out, out + r.lo, T(0));
            // Index ox·S + kx − P, never formed outside [lo, hi) where it would be negative.
            if (S == 1 && r.lo < r.hi)
                std::copy_n(in + (r.lo + kx - g.pad), r.hi - r.lo, out + r.lo);
            else
                for (std::size_t ox = r.lo; ox < r.hi; ++ox)
                    out[ox] = in[ox * S + kx - g.pad];
            std::fill(out + r.hi, out + wo, T(0));
        });
}

/// dx[Cin][batch][H][W] += col2im(dcols): the adjoint of im2col. dx is NOT
/// cleared: overlapping windows add up, so the caller zeroes it first.
template <class T>
void col2im(const conv_geometry& g, const T* dcols, T* dx) {
    const std::size_t S = g.stride;
    detail::for_each_patch_row(g, dx,
                               [&](std::size_t col, T* in, std::size_t kx, detail::column_range r) {
                                   if (!in) return; // padding receives no gradient
                                   const T* d = dcols + col;
                                   for (std::size_t ox = r.lo; ox < r.hi; ++ox)
                                       in[ox * S + kx - g.pad] += d[ox];
                               });
}

} // namespace maso::kernels
