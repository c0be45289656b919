// maso/vq/beta_window.hpp — the β-VQ math of one window of values, member by member, on any
// value type: the one implementation behind every β-VQ window of the library.
//
// For a window v of R values at η (paper-spec §3.1, §4.4–§4.6):
//
//   e_r = exp(η (v_r − max v)),   y = Σ e_r v_r / Σ e_r,   p_r = e_r / Σ e
//   ∂L/∂v_j = dy p_j (1 + η (v_j − y)),   ∂L/∂η = dy Var_p(v) = Σ_j dy p_j (v_j − y)²
//
// V is T, or an xsimd batch of T whose lanes are independent windows or the members of one
// window. The loops around these formulas differ by where the members are, and only there:
// vq/derive.hpp walks a span one member at a time (the scalar reference, any R, used by
// the pooling layers' window_pool and the softmax layer), layers/detail/window_lanes.hpp
// holds the R members of many windows on lanes (the pooling passes and the GEMM tiles),
// layers/detail/plane_window.hpp runs a plane-sized window's members on lanes (global
// pooling).
//
// Guards: a member equal to the max gets e = 1 without the exp, so η = ∞ reached from a
// finite θ (which is not the hard path) averages the tied maxima instead of forming ∞·0,
// and η (v − max) ≤ 0 never overflows exp. The gradient's spread term uses η only where
// η < ∞ (at η = ∞, p sits on the tied maxima, where v_j = y): `spread`. Every term of the
// gradient is a product with dy, formed as (dy p_j)·…, so a member whose dy is 0 (a padding
// lane) adds exactly 0 to dv and to ∂L/∂η whatever finite value it holds.
#pragma once

#include <maso/simd/ops.hpp>

#include <cmath>

namespace maso::vq {

/// Σ_r e_r and Σ_r e_r v_r, added member by member.
template <class V>
struct window_sums {
    V total, weighted;

    MASO_ALWAYS_INLINE void add(V e, V v) noexcept {
        total += e;
        weighted += e * v;
    }
    /// y = Σ e_r v_r / Σ e_r: the window's β-VQ output.
    MASO_ALWAYS_INLINE V mean() const noexcept { return weighted / total; }
};

/// One window's (or, on lanes, several windows') β-VQ terms, given its max and η.
template <class V>
struct beta_window {
    using O = simd::ops<V>;
    using T = typename O::value_type;

    V max;    ///< max_r v_r
    V eta;    ///< η
    V spread; ///< η in the gradient's spread term: 0 at η = ∞

    MASO_ALWAYS_INLINE beta_window(V max_v, T eta_v) noexcept
        : max(max_v), eta(O::broadcast(eta_v)),
          spread(O::broadcast(std::isinf(eta_v) ? T(0) : eta_v)) {}

    /// e = exp(η (v − max)), 1 for a member equal to the max.
    MASO_ALWAYS_INLINE V weight(V v) const noexcept {
        // η (v − max) is ∞·0 = NaN at v = max when η = ∞: the select drops it there.
        return O::select(v == max, O::broadcast(T(1)), O::fast_exp(eta * (v - max)));
    }
    MASO_ALWAYS_INLINE static window_sums<V> no_sums() noexcept {
        return {O::broadcast(T(0)), O::broadcast(T(0))};
    }

    /// ∂L/∂v of the member v whose weight is e, for the window's output y, 1/Σe and the
    /// upstream dy; adds the member's term of ∂L/∂η to deta.
    MASO_ALWAYS_INLINE V gradient(V v, V e, V y, V inv_total, V dy, V& deta) const noexcept {
        const V g = dy * (e * inv_total); // dy p_j: 0 wherever dy is
        const V c = v - y;
        const V gc = g * c;
        deta = O::fma(gc, c, deta);
        return O::fma(spread, gc, g);
    }
    /// The window's ∂L/∂η from its members' terms: 0 at η = ∞, where y no longer moves with η
    /// (Var_p is 0 but for y's rounding).
    MASO_ALWAYS_INLINE static T eta_gradient(T eta, T deta) noexcept {
        return std::isinf(eta) ? T(0) : deta;
    }
};

/// A window's terms and its sums, as a loop over its members returns them.
template <class V>
struct summed_window {
    beta_window<V> window;
    window_sums<V> sums;
};

} // namespace maso::vq
