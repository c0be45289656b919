// maso/layers/detail/window_lanes.hpp — pooling-window math on lanes: the R members of many
// windows at once, one value V per member.
//
// Internal to the pooling layers and the GEMM epilogues that pool; users include
// layers/maxpool.hpp, avgpool.hpp or softpool.hpp. pool_window.hpp's window_pool computes one
// window from a span; here v is std::array<V, R> with v[r] = member r of the window
// (row-major inside the window: the tie rule's order) and V a scalar T or an
// xsimd::batch<T, Arch> holding that member of several windows, one per lane. Every lane
// is its own window, computed as window_pool computes it (paper-spec §4.4–§4.5, §3.1):
//
//   hard (β = 1)  y = max_r v_r, ∂L/∂v = dy e_r*, r* the first maximum (vq::hard_region)
//   β-VQ          e_r = exp(η (v_r − max v)), p = e / Σe, y = Σ e_r v_r / Σ e_r,
//                 ∂L/∂v_j = dy p_j (1 + η (v_j − y)),   ∂L/∂η = dy Var_p(v)
//   average       η = 0: e_r = 1, y = (1/R) Σ v_r
//
// Each member's terms are vq/beta_window.hpp's, summed in window_pool's order (vq/derive.hpp),
// so a lane matches the scalar reference to the ulps of exp (ops<V>::fast_exp) and 1/x;
// that header states the guards (η = ∞ from a finite θ, padding lanes with dy = 0), which
// hold as long as a lane's sums stay finite (|v| below FLT_MAX / (2R)).
// Batches need simd/batch_ops.hpp's ops<V> (the epilogues include it); this header needs
// only the scalar one.
#pragma once

#include <maso/simd/ops.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/beta_window.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <type_traits>

namespace maso::detail {

/// One channel's window math (the hard path or η, read once from the layer's β) on lanes of
/// windows. As window_pool: η = ∞ from a finite θ is not the hard path.
template <class T>
struct window_lanes {
    bool hard;
    T eta; ///< η = e^θ: what ∂L/∂θ = η ∂L/∂η is formed with (beta_source::add_gradient)

    explicit window_lanes(vq::basic_beta<T> b) noexcept : hard(b.is_hard()), eta(b.eta()) {}

    /// y of each lane's window: its maximum when hard, else the β-VQ mean.
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE V forward(const std::array<V, R>& v) const noexcept {
        static_assert(R > 0 && std::is_same_v<typename simd::ops<V>::value_type, T>);
        if (hard) return lane_max(v);
        return sums_of<R, V>(v, nullptr).sums.mean();
    }

    /// Each lane's posterior of every member, the window's β-VQ T^β (paper-spec §3): e_r / Σe,
    /// or when hard the one-hot of the first maximum (T^H).
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE std::array<V, R> posteriors(const std::array<V, R>& v) const noexcept {
        std::array<V, R> p;
        if (hard) {
            on_first_max(v, simd::ops<V>::broadcast(T(1)), p);
            return p;
        }
        const V total = sums_of(v, &p).sums.total;
        for (std::size_t r = 0; r < R; ++r)
            p[r] = p[r] / total;
        return p;
    }

    /// Writes dv = ∂L/∂v for each lane's upstream dy and returns each lane's ∂L/∂η: dy on the
    /// first maximum only and 0 when hard, else dy p_j (1 + η (v_j − y)) and dy Var_p(v).
    /// dv may not alias v.
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE V backward(const std::array<V, R>& v, V dy,
                                  std::array<V, R>& dv) const noexcept {
        static_assert(R > 0 && std::is_same_v<typename simd::ops<V>::value_type, T>);
        using O = simd::ops<V>;
        const V zero = O::broadcast(T(0));
        if (hard) {
            on_first_max(v, dy, dv);
            return zero;
        }
        std::array<V, R> e;
        const auto s = sums_of(v, &e);
        const V y = s.sums.mean(); // window_pool's mean, rounded as it rounds
        const V inv = O::reciprocal(s.sums.total);
        V deta = zero;
        for (std::size_t j = 0; j < R; ++j)
            dv[j] = s.window.gradient(v[j], e[j], y, inv, dy, deta);
        return std::isinf(eta) ? zero : deta;
    }

private:
    /// out[r] = x on each lane's first member equal to its maximum, 0 on the others: the hard
    /// path's posterior (x = 1) and gradient (x = dy). Later ties find 0 left.
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE static void on_first_max(const std::array<V, R>& v, V x,
                                                std::array<V, R>& out) noexcept {
        using O = simd::ops<V>;
        const V m = lane_max(v), zero = O::broadcast(T(0));
        for (std::size_t r = 0; r < R; ++r) {
            const auto at_max = v[r] == m;
            out[r] = O::select(at_max, x, zero);
            x = O::select(at_max, zero, x);
        }
    }

    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE static V lane_max(const std::array<V, R>& v) noexcept {
        V m = v[0];
        for (std::size_t r = 1; r < R; ++r)
            m = simd::ops<V>::max(m, v[r]);
        return m;
    }

    /// vq::detail::exp_sums_of on lanes, the e_r also into *e unless it is null.
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE vq::summed_window<V> sums_of(const std::array<V, R>& v,
                                                    std::array<V, R>* e) const noexcept {
        vq::summed_window<V> s{vq::beta_window<V>(lane_max(v), eta), vq::beta_window<V>::no_sums()};
        for (std::size_t r = 0; r < R; ++r) {
            const V er = s.window.weight(v[r]);
            if (e) (*e)[r] = er;
            s.sums.add(er, v[r]);
        }
        return s;
    }
};

} // namespace maso::detail
