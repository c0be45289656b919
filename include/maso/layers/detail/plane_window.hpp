// maso/layers/detail/plane_window.hpp — one pooling window as large as a whole plane, its
// members on SIMD lanes.
//
// Internal to layers/global_pool.hpp; users include that. pool_window.hpp's window_pool
// computes a window from a span one member at a time (one std::exp each); this computes the
// same (paper-spec §4.4–§4.6, §3.1) with the members W at a time, for global_softpool's
// window of H·W members:
//
//   hard (β = 1)  y = max v, ∂L/∂v = dy e_r*, r* the first maximum (vq::hard_region)
//   β-VQ          e_r = exp(η (v_r − max v)), y = Σ e_r v_r / Σ e_r,
//                 ∂L/∂v_j = dy p_j (1 + η (v_j − y)),   ∂L/∂η = dy Var_p(v)
//
// each member's terms as vq/beta_window.hpp forms them (with its guards: η = ∞ from a
// finite θ averages the tied maxima; the spread term and ∂L/∂η are dropped at η = ∞). The
// sums run lane-wise and are added across the lanes at the end, so they match window_pool's
// to rounding, not bitwise; the lanes past the last member of a partial batch are masked out
// of every sum.
#pragma once

#include <maso/simd/batch_ops.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/beta_window.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

namespace maso::detail {

template <class T, class Arch = xsimd::default_arch>
struct plane_window {
    using batch = xsimd::batch<T, Arch>;
    using O = simd::ops<batch>;
    static constexpr std::size_t W = batch::size;

    bool hard;
    T eta; ///< η = e^θ

    explicit plane_window(vq::basic_beta<T> b) noexcept : hard(b.is_hard()), eta(b.eta()) {}

    /// y of the window v: its maximum when hard, else the β-VQ mean.
    T forward(std::span<const T> v) const noexcept {
        const T m = max_of(v);
        if (hard) return m;
        return sums_of(v, m, nullptr).sums.mean();
    }

    /// Writes dv = ∂L/∂v for upstream dy unless dv is empty (dv may not alias v) and returns
    /// ∂L/∂η: dy on the first maximum and 0 when hard, else dy p_j (1 + η (v_j − y)) and
    /// dy Var_p(v).
    T backward(std::span<const T> v, T dy, std::span<T> dv) const noexcept {
        const T m = max_of(v);
        if (hard) {
            if (!dv.empty()) {
                std::fill(dv.begin(), dv.end(), T(0));
                dv[std::size_t(std::find(v.begin(), v.end(), m) - v.begin())] = dy;
            }
            return T(0);
        }
        // dv holds e on the way, as vq::beta_backward keeps p there: no second exp.
        T* const e = dv.empty() ? nullptr : dv.data();
        const auto s = sums_of(v, m, e);
        const batch y(s.sums.mean()), inv(T(1) / s.sums.total), dyb(dy);
        const vq::beta_window<batch>& w = s.window;
        batch deta(T(0));
        const std::size_t n = v.size(), full = n - n % W;
        for (std::size_t i = 0; i < full; i += W) {
            const batch x = batch::load_unaligned(v.data() + i);
            const batch er = e ? batch::load_unaligned(e + i) : w.weight(x);
            const batch g = w.gradient(x, er, y, inv, dyb, deta);
            if (e) g.store_unaligned(dv.data() + i);
        }
        if (full != n) {
            // Past the members: x = max (e = 1, finite) with dy = 0, which adds exactly 0.
            alignas(64) T buf[W], dbuf[W], mask[W] = {};
            std::fill_n(buf, W, m);
            std::copy(v.begin() + full, v.end(), buf);
            std::fill_n(mask, n - full, dy);
            const batch x = batch::load_aligned(buf);
            w.gradient(x, w.weight(x), y, inv, batch::load_aligned(mask), deta).store_aligned(dbuf);
            if (e) std::copy_n(dbuf, n - full, dv.data() + full);
        }
        return vq::beta_window<T>::eta_gradient(eta, xsimd::hadd(deta));
    }

private:
    /// A plane's sums, added across the lanes.
    struct plane_sums {
        vq::beta_window<batch> window;
        vq::window_sums<T> sums;
    };

    static T max_of(std::span<const T> v) noexcept {
        const std::size_t n = v.size(), full = n - n % W;
        T m = -std::numeric_limits<T>::infinity();
        if (full != 0) {
            batch mb = batch::load_unaligned(v.data());
            for (std::size_t i = W; i < full; i += W)
                mb = O::max(mb, batch::load_unaligned(v.data() + i));
            alignas(64) T lanes[W];
            mb.store_aligned(lanes);
            m = *std::max_element(lanes, lanes + W);
        }
        for (std::size_t i = full; i < n; ++i)
            m = std::max(m, v[i]);
        return m;
    }

    /// Σ e_r and Σ e_r v_r, the e_r also into e unless it is null.
    plane_sums sums_of(std::span<const T> v, T m, T* e) const noexcept {
        const std::size_t n = v.size(), full = n - n % W;
        const vq::beta_window<batch> w(batch(m), eta);
        auto s = vq::beta_window<batch>::no_sums();
        for (std::size_t i = 0; i < full; i += W) {
            const batch x = batch::load_unaligned(v.data() + i);
            const batch er = w.weight(x);
            if (e) er.store_unaligned(e + i);
            s.add(er, x);
        }
        if (full != n) {
            alignas(64) T buf[W], ebuf[W];
            std::fill_n(buf, W, m); // past the members: e = 1, masked to 0 below
            std::copy(v.begin() + full, v.end(), buf);
            const batch x = batch::load_aligned(buf);
            w.weight(x).store_aligned(ebuf);
            std::fill(ebuf + (n - full), ebuf + W, T(0));
            const batch er = batch::load_aligned(ebuf);
            if (e) std::copy_n(ebuf, n - full, e + full);
            s.add(er, x);
        }
        return {w, {xsimd::hadd(s.total), xsimd::hadd(s.weighted)}};
    }
};

} // namespace maso::detail
