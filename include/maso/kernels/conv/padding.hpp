// maso/kernels/conv/padding.hpp — a convolution's input zero-padded, and its gradient cropped:
// what the packers read (kernels/implicit_conv.hpp).
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/conv_geometry.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace maso::kernels {

/// Elements of x zero-padded by g.pad on every side of every plane.
constexpr std::size_t padded_size(const conv_geometry& g) {
    return g.channels * g.batch * (g.height + 2 * g.pad) * (g.width + 2 * g.pad);
}

namespace detail {
/// Fetches the cache lines of [p, p + n) into L1 ahead of their use.
template <class T>
void prefetch_lines(const T* p, std::size_t n) {
    constexpr std::uintptr_t line = 64;
    const auto end = reinterpret_cast<std::uintptr_t>(p + n);
    for (auto a = reinterpret_cast<std::uintptr_t>(p) & ~(line - 1); a < end; a += line)
        __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 3);
}
} // namespace detail

/// How x's H×W planes are laid out: maso's channel-major [C][N][H][W], or the
/// images' own [N][C][H][W] at the network's input edge.
enum class plane_layout { channel_major, images };

/// xp = x with g.pad zeros around every H×W plane: xp[c][n][H + 2P][W + 2P]. With
/// P = 0 the packers read x itself. From `images` this is also the conversion to
/// channel-major, one pass where the network's input would take two. Planes are
/// shared among the pool's threads.
///
/// From images, each row of the next plane is fetched while the same row of this one
/// is copied: consecutive planes are C planes apart, every one starting on a page of
/// its own, where the hardware prefetcher does not follow. The pass took 1.7× a copy
/// of the same bytes without the fetch (a batch of 32 × 96×32×32, 1 thread), about 1×
/// with it. Channel-major planes follow one another, and the same fetch made their
/// pass 1.3× slower.
template <class T>
void pad_input(const conv_geometry& g, const T* x, T* xp,
               plane_layout from = plane_layout::channel_major) {
    const std::size_t P = g.pad, hp = g.height + 2 * P, wp = g.width + 2 * P;
    const std::size_t planes = g.channels * g.batch;
    // Plane p is (c, n) = (p / N, p % N); from images it is x's plane n·C + c.
    const auto source = [&](std::size_t p) {
        const std::size_t q =
            from == plane_layout::channel_major ? p : p % g.batch * g.channels + p / g.batch;
        return x + q * g.height * g.width;
    };
    parallel_for(planes, [&](std::size_t p0, std::size_t p1, std::size_t) {
        for (std::size_t p = p0; p < p1; ++p) {
            const T* src = source(p);
            const T* next = from == plane_layout::images && p + 1 < p1 ? source(p + 1) : nullptr;
            T* dst = xp + p * hp * wp;
            std::fill_n(dst, P * wp, T(0));
            for (std::size_t y = 0; y < g.height; ++y) {
                if (next) detail::prefetch_lines(next + y * g.width, g.width);
                T* row = dst + (P + y) * wp;
                std::fill_n(row, P, T(0));
                std::copy_n(src + y * g.width, g.width, row + P);
                std::fill_n(row + P + g.width, P, T(0));
            }
            std::fill_n(dst + (P + g.height) * wp, P * wp, T(0));
        }
    });
}

/// dx = the interior of dxp (pad_input's layout): the gradient that reached the
/// padding is dropped, as it belongs to no input.
template <class T>
void unpad_output(const conv_geometry& g, const T* dxp, T* dx) {
    const std::size_t P = g.pad, hp = g.height + 2 * P, wp = g.width + 2 * P;
    parallel_for(g.channels * g.batch, [&](std::size_t p0, std::size_t p1, std::size_t) {
        for (std::size_t p = p0; p < p1; ++p)
            for (std::size_t y = 0; y < g.height; ++y)
                std::copy_n(dxp + (p * hp + P + y) * wp + P, g.width,
                            dx + (p * g.height + y) * g.width);
    });
}

} // namespace maso::kernels
