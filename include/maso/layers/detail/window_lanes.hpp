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
// The β-VQ sums are window_pool's (vq/derive.hpp's exp_sums_of), in its order and with its
// guards, so a lane matches the scalar reference to the ulps of exp (ops<V>::fast_exp) and
// 1/x: members equal to the lane's max get e = 1 without the exp, so η = ∞ from a finite θ
// (not the hard path) averages the tied maxima instead of forming ∞·0, and η (v_r − max) ≤ 0
// never overflows exp. The gradient's spread term uses η only where η < ∞ (at η = ∞ p sits
// on the tied maxima, where v_j = y), and ∂L/∂η is 0 there, as in vq::beta_backward.
// Every term of backward is a product with dy, formed as (dy p_j)·…: a lane with dy = 0
// (padding) adds exactly 0 to dv and to ∂L/∂η whatever finite values it holds, as long as
// its sums stay finite (|v| below FLT_MAX / (2R)).
// Batches need simd/batch_ops.hpp's ops<V> (the epilogues include it); this header needs
// only the scalar one.
#pragma once

#include <maso/simd/ops.hpp>
#include <maso/vq/beta.hpp>

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
    T spread; ///< η in ∂y/∂v_j's spread term η (v_j − y): 0 at η = ∞

    explicit window_lanes(vq::basic_beta<T> b) noexcept
        : hard(b.is_hard()), eta(b.eta()), spread(std::isinf(eta) ? T(0) : eta) {}

    /// y of each lane's window: its maximum when hard, else the β-VQ mean.
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE V forward(const std::array<V, R>& v) const noexcept {
        static_assert(R > 0 && std::is_same_v<typename simd::ops<V>::value_type, T>);
        if (hard) return lane_max(v);
        const sums<V> s = sums_of<R, V>(v, nullptr);
        return s.weighted / s.total;
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
        const sums<V> s = sums_of(v, &p);
        for (std::size_t r = 0; r < R; ++r)
            p[r] = p[r] / s.total;
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
        const sums<V> s = sums_of(v, &e);
        const V y = s.weighted / s.total; // window_pool's mean, rounded as it rounds
        const V inv = O::reciprocal(s.total);
        const V eta_spread = O::broadcast(spread);
        V deta = zero;
        for (std::size_t j = 0; j < R; ++j) {
            const V g = dy * (e[j] * inv); // dy p_j: 0 for padding and for p_j = 0
            const V c = v[j] - y;
            const V gc = g * c;
            dv[j] = O::fma(eta_spread, gc, g);
            deta = O::fma(gc, c, deta);
        }
        // At η = ∞ only the tied maxima carry p, and Var_p is 0 but for y's rounding.
        return std::isinf(eta) ? zero : deta;
    }

private:
    template <class V>
    struct sums {
        V total;    ///< Σ e_r, in [1, R]
        V weighted; ///< Σ e_r v_r
    };

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
    MASO_ALWAYS_INLINE sums<V> sums_of(const std::array<V, R>& v,
                                       std::array<V, R>* e) const noexcept {
        using O = simd::ops<V>;
        const V m = lane_max(v), one = O::broadcast(T(1)), eta_v = O::broadcast(eta);
        sums<V> s{O::broadcast(T(0)), O::broadcast(T(0))};
        for (std::size_t r = 0; r < R; ++r) {
            // η (v_r − m) is ∞·0 = NaN at v_r = m when η = ∞: the select drops it there.
            const V er = O::select(v[r] == m, one, O::fast_exp(eta_v * (v[r] - m)));
            if (e) (*e)[r] = er;
            s.total += er;
            s.weighted += er * v[r];
        }
        return s;
    }
};

} // namespace maso::detail
