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

/// [N][C][H][W] → [C][N][H][W].
template <class S, class T>
void to_channel_major(std::span<const T> nchw, activation<S, T> out,
                      const char* what = "the input batch") {
    detail::check_same_size(out.size(), nchw.size(), what);
    // Plane copies, images shared among the pool's threads: at batch 32 of 96×32×32
    // this pass is 12 MiB each way, a few percent of a convolution.
    parallel_for(out.batch, [&](std::size_t n0, std::size_t n1, std::size_t) {
        for (std::size_t n = n0; n < n1; ++n)
            for (std::size_t c = 0; c < S::channels; ++c)
                std::copy_n(nchw.data() + (n * S::channels + c) * S::plane, S::plane,
                            out.plane(c, n));
    });
}

/// [C][N][H][W] → [N][C][H][W].
template <class S, class T>
void from_channel_major(activation<S, const T> in, std::span<T> nchw) {
    detail::check_same_size(in.size(), nchw.size(), "the output buffer");
    parallel_for(in.batch, [&](std::size_t n0, std::size_t n1, std::size_t) {
        for (std::size_t n = n0; n < n1; ++n)
            for (std::size_t c = 0; c < S::channels; ++c)
                std::copy_n(in.plane(c, n), S::plane,
                            nchw.data() + (n * S::channels + c) * S::plane);
    });
}

} // namespace maso
