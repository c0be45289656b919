// maso/core/tensor.hpp — activations in maso's channel-major layout.
//
// Inside a network an activation of shape<C, H, W> for a batch of N is stored
// as [C][N][H][W]: channel c's N·H·W values are contiguous. Per-channel
// parameters (bias, β, batch-norm γ and β) are then one scalar broadcast over a
// contiguous run, a convolution is one GEMM W[Cout][Cin·K·K] × cols[Cin·K·K][N·H·W],
// and a dense layer W[F][D] × X[D][N]. Conversion from and to the usual
// [N][C][H][W] happens only at the network's edges (to_channel_major /
// from_channel_major).
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>

#include <algorithm>
#include <cstddef>
#include <span>

namespace maso {

/// A view of one activation: `data` holds S::size · batch floats, channel-major.
template <class S, class T = float>
struct activation {
    using shape_type = S;
    T* data = nullptr;
    std::size_t batch = 0;

    std::size_t size() const noexcept { return S::size * batch; }
    /// The contiguous run of channel c: batch · H · W values.
    T* channel(std::size_t c) const noexcept { return data + c * batch * S::plane; }
    /// One image's H×W plane of channel c.
    T* plane(std::size_t c, std::size_t n) const noexcept {
        return data + (c * batch + n) * S::plane;
    }
    std::span<T> span() const noexcept { return {data, size()}; }
};

namespace detail {

/// dst[(c·rows + r)·plane + i] = src[(r·cols + c)·plane + i]: the rows×cols matrix of
/// planes transposed, shared among the pool's threads by blocks of rows. Planes of a
/// map are copied whole (at batch 32 of 96×32×32 this is 12 MiB each way, a few
/// percent of a convolution). A vector's planes are single values (H = W = 1: after
/// input<D>, or for a classifier's output): copied one by one in row order, every
/// store would touch a new cache line, which made the input's conversion 8% of an
/// MLP's forward; they go in 16×16 blocks instead, a line at a time on both sides.
template <class T>
void transpose_planes(const T* src, T* dst, std::size_t rows, std::size_t cols,
                      std::size_t plane) {
    constexpr std::size_t block = 16;
    if (plane >= block) {
        parallel_for(rows, [&](std::size_t r0, std::size_t r1, std::size_t) {
            for (std::size_t r = r0; r < r1; ++r)
                for (std::size_t c = 0; c < cols; ++c)
                    std::copy_n(src + (r * cols + c) * plane, plane, dst + (c * rows + r) * plane);
        });
        return;
    }
    parallel_for((rows + block - 1) / block, [&](std::size_t b0, std::size_t b1, std::size_t) {
        for (std::size_t r0 = b0 * block; r0 < std::min(rows, b1 * block); r0 += block)
            for (std::size_t c0 = 0; c0 < cols; c0 += block) {
                const std::size_t r1 = std::min(rows, r0 + block), c1 = std::min(cols, c0 + block);
                for (std::size_t c = c0; c < c1; ++c)
                    for (std::size_t r = r0; r < r1; ++r)
                        std::copy_n(src + (r * cols + c) * plane, plane,
                                    dst + (c * rows + r) * plane);
            }
    });
}

} // namespace detail

/// [N][C][H][W] → [C][N][H][W].
template <class S, class T>
void to_channel_major(std::span<const T> nchw, activation<S, T> out,
                      const char* what = "the input batch") {
    detail::check_same_size(out.size(), nchw.size(), what);
    detail::transpose_planes(nchw.data(), out.data, out.batch, S::channels, S::plane);
}

/// [C][N][H][W] → [N][C][H][W].
template <class S, class T>
void from_channel_major(activation<S, const T> in, std::span<T> nchw) {
    detail::check_same_size(in.size(), nchw.size(), "the output buffer");
    detail::transpose_planes(in.data, nchw.data(), S::channels, in.batch, S::plane);
}

} // namespace maso
