// maso/layers/detail/window_pass.hpp — a K×K pooling layer's pass over whole planes, its
// window math on SIMD lanes, one window per lane.
//
// Internal to layers/maxpool.hpp, avgpool.hpp and softpool.hpp; users include those.
//
//   forward_window_pass<In, K>(math, in, out, planes)
//       out[w] = math.forward(window w) for every window of `planes` consecutive In-shaped
//       planes (a channel's images are consecutive), in output order
//   backward_window_pass<In, K>(math, in, dout, din, planes) → ∂L/∂η
//       din's window w = math.backward(window w, dout[w]) (din may be null: only ∂L/∂η),
//       and the sum of every window's ∂L/∂η
//
// `math` is a channel's window math on lanes (layers/detail/window_lanes.hpp's window_lanes,
// or any struct with its forward<R> and backward<R>). Windows are taken W at a time, in
// output order, across rows and planes: output row p of the planes reads input rows
// p·K … p·K + K − 1, and member row a of those rows, taken over p, is a sequence S_a in
// which member (a, b) of window w sits at w·K + b. So W consecutive windows read K·W
// consecutive values of each S_a, which are one contiguous run of an input row whenever the
// row holds whole batches (In::width a multiple of W); simd/deinterleave.hpp turns the run
// into K batches of one member each. Other widths take a batch through a buffer where it
// crosses a row. The last, partial group of windows is gathered into zero-padded lanes,
// whose dy is 0: window_lanes adds exactly 0 for them.
//
// This is what fuse::none runs, and what a fused group runs for a window the GEMM's tiles
// cannot hold (plan/lower.hpp): one pass, vectorised, where pool_window.hpp's
// forward_windows and backward_windows (one window at a time, one std::exp per member) are
// the scalar reference the tests hold it to.
#pragma once

#include <maso/simd/batch_ops.hpp>
#include <maso/simd/deinterleave.hpp>

#include <algorithm>
#include <array>
#include <cstddef>

namespace maso::detail {

/// The K×K windows of consecutive In-shaped planes, W of them at a time on Arch's batches.
template <class In, std::size_t K, class T, class Arch = xsimd::default_arch>
struct window_grid {
    using batch = xsimd::batch<T, Arch>;
    static constexpr std::size_t W = batch::size, R = K * K;
    static constexpr std::size_t Wi = In::width, Wo = In::width / K;
    /// Every run of W values of an S_a that starts at a multiple of W lies in one row.
    static constexpr bool rows_hold_batches = Wi % W == 0;

    static std::size_t windows(std::size_t planes) noexcept {
        return planes * (In::height / K) * Wo;
    }
    /// Where element s of member row a's sequence S_a lies in the planes.
    static std::size_t offset(std::size_t a, std::size_t s) noexcept {
        return ((s / Wi) * K + a) * Wi + s % Wi;
    }

    /// Elements s … s + W − 1 of S_a (s a multiple of W).
    MASO_ALWAYS_INLINE static batch load(const T* in, std::size_t a, std::size_t s) noexcept {
        if (rows_hold_batches || s % Wi + W <= Wi) return batch::load_unaligned(in + offset(a, s));
        alignas(64) T buf[W];
        for (std::size_t l = 0; l < W; ++l)
            buf[l] = in[offset(a, s + l)];
        return batch::load_aligned(buf);
    }
    MASO_ALWAYS_INLINE static void store(T* out, std::size_t a, std::size_t s, batch v) noexcept {
        if (rows_hold_batches || s % Wi + W <= Wi) return v.store_unaligned(out + offset(a, s));
        alignas(64) T buf[W];
        v.store_aligned(buf);
        for (std::size_t l = 0; l < W; ++l)
            out[offset(a, s + l)] = buf[l];
    }

    /// Member r = a·K + b of the W windows from w0, one window per lane.
    MASO_ALWAYS_INLINE static std::array<batch, R> gather(const T* in, std::size_t w0) noexcept {
        std::array<batch, R> v;
        for (std::size_t a = 0; a < K; ++a) {
            std::array<batch, K> run;
            for (std::size_t q = 0; q < K; ++q)
                run[q] = load(in, a, w0 * K + q * W);
            const std::array<batch, K> m = simd::deinterleave<K>(run);
            for (std::size_t b = 0; b < K; ++b)
                v[a * K + b] = m[b];
        }
        return v;
    }
    /// gather's inverse: the members' values back to their places.
    MASO_ALWAYS_INLINE static void scatter(const std::array<batch, R>& v, T* out,
                                           std::size_t w0) noexcept {
        for (std::size_t a = 0; a < K; ++a) {
            std::array<batch, K> m;
            for (std::size_t b = 0; b < K; ++b)
                m[b] = v[a * K + b];
            const std::array<batch, K> run = simd::interleave<K>(m);
            for (std::size_t q = 0; q < K; ++q)
                store(out, a, w0 * K + q * W, run[q]);
        }
    }

    /// The `valid` < W windows from w0, lanes past them 0.
    static std::array<batch, R> gather_tail(const T* in, std::size_t w0, std::size_t valid) {
        std::array<batch, R> v;
        for (std::size_t r = 0; r < R; ++r) {
            alignas(64) T buf[W] = {};
            for (std::size_t l = 0; l < valid; ++l)
                buf[l] = in[offset(r / K, (w0 + l) * K + r % K)];
            v[r] = batch::load_aligned(buf);
        }
        return v;
    }
    static void scatter_tail(const std::array<batch, R>& v, T* out, std::size_t w0,
                             std::size_t valid) {
        for (std::size_t r = 0; r < R; ++r) {
            alignas(64) T buf[W];
            v[r].store_aligned(buf);
            for (std::size_t l = 0; l < valid; ++l)
                out[offset(r / K, (w0 + l) * K + r % K)] = buf[l];
        }
    }
    /// The first `valid` values from p, zero-padded, and their way back.
    static batch load_tail(const T* p, std::size_t valid) {
        alignas(64) T buf[W] = {};
        std::copy_n(p, valid, buf);
        return batch::load_aligned(buf);
    }
    static void store_tail(batch v, T* p, std::size_t valid) {
        alignas(64) T buf[W];
        v.store_aligned(buf);
        std::copy_n(buf, valid, p);
    }
};

template <class In, std::size_t K, class Math, class T>
void forward_window_pass(const Math& math, const T* in, T* out, std::size_t planes) {
    using grid = window_grid<In, K, T>;
    constexpr std::size_t W = grid::W, R = grid::R;
    const std::size_t n = grid::windows(planes), full = n - n % W;
    for (std::size_t w0 = 0; w0 < full; w0 += W)
        math.template forward<R>(grid::gather(in, w0)).store_unaligned(out + w0);
    if (full != n)
        grid::store_tail(math.template forward<R>(grid::gather_tail(in, full, n - full)),
                         out + full, n - full);
}

template <class In, std::size_t K, class Math, class T>
T backward_window_pass(const Math& math, const T* in, const T* dout, T* din, std::size_t planes) {
    using grid = window_grid<In, K, T>;
    using batch = typename grid::batch;
    constexpr std::size_t W = grid::W, R = grid::R;
    const std::size_t n = grid::windows(planes), full = n - n % W;
    batch deta(T(0));
    std::array<batch, R> dv;
    for (std::size_t w0 = 0; w0 < full; w0 += W) {
        deta +=
            math.template backward<R>(grid::gather(in, w0), batch::load_unaligned(dout + w0), dv);
        if (din) grid::scatter(dv, din, w0);
    }
    if (full != n) {
        // Padded lanes: zeros with dy = 0, which add exactly 0 to ∂L/∂η.
        deta += math.template backward<R>(grid::gather_tail(in, full, n - full),
                                          grid::load_tail(dout + full, n - full), dv);
        if (din) grid::scatter_tail(dv, din, full, n - full);
    }
    return xsimd::hadd(deta);
}

} // namespace maso::detail
