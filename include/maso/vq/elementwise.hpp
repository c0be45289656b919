// maso/vq/elementwise.hpp — closed forms of the elementwise passes, on any value V.
//
// For a two-region elementwise unit with region values c_0 z and c_1 z (c_1 > c_0)
// the posterior is one sigmoid of u = η Δ z, Δ = c_1 − c_0:
//
//   p_1 = σ(u) = 1/(1+E), p_0 = σ(−u) = E p_1, p_0 p_1 = E/(1+E)², E = exp(−u)   (no cancellation)
//   β-VQ     y = z (c_0 + Δ p_1)                         (swish for ReLU, z·tanh(ηz) for |·|)
//            ∂y/∂z = c_0 + Δ p_1 + Δ u p_0 p_1
//            ∂y/∂θ = η ∂y/∂η = η Δ² z² p_0 p_1 = Δ z u p_0 p_1
//   readout  o = w_0 + (w_1 − w_0) p_1                   (sigmoid, tanh)
//            ∂o/∂z = (w_1 − w_0) Δ η p_0 p_1,  ∂o/∂θ = (w_1 − w_0) u p_0 p_1
//   hard     y = (z > 0 ? c_1 : c_0) z                   (z = 0 takes region 0: the tie rule)
//
// These are what vq/derive.hpp gives for R = 2, written so that one exp serves
// the value and both gradients; the tests check them against derive.hpp.
// Numerics (paper-spec §9): η is capped at eta_cap. The forward passes take u as it
// comes: E = ∞ for u ≪ 0 gives p_1 = 0 exactly. The backward passes, where p_0 = E p_1
// and u p_0 p_1 could be ∞·0, clamp u to ±score_cap, beyond which σ is 1 or negligible;
// so for any θ < ∞ and any finite z no ∞·0 appears; θ = +∞ is the hard pass.
// exp and 1/x go through ops<V>::fast_exp and reciprocal: <cmath> in the scalar
// reference, ≤ 1 ulp on batches (simd/batch_ops.hpp).
// Each pass is a small struct with forward(z) and backward(z, dy, dθ-accumulator);
// vq/kernel.hpp runs them over arrays in one fused loop.
#pragma once

#include <maso/core/error.hpp>
#include <maso/simd/ops.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/soft/readout.hpp>
#include <maso/vq/unit.hpp>

#include <algorithm>
#include <type_traits>

namespace maso::vq {

namespace detail {
/// Beyond this η, σ(ηz) is a step function in float and double alike.
template <class T>
inline constexpr T eta_cap = T(1e30);

template <class V>
struct two_posterior {
    V p1;   ///< σ(u)
    V p0p1; ///< σ(u) σ(−u)
};

/// The backward passes clamp u to ±score_cap: σ(score_cap) rounds to 1 and
/// σ(−score_cap) < 2e-35 (float) / 1e-304 (double), so no gradient changes, while
/// E = e^{score_cap} stays finite and 1/(1+E) normal: E p_1 is never ∞·0 or a denormal.
template <class T>
inline constexpr T score_cap = std::is_same_v<T, float> ? T(80) : T(700);

/// σ(u) from m = −u (the passes fold the sign into η Δ). No branch on the sign of u,
/// where e^{−|u|} would need a select: E = e^m is ∞ for u ≪ 0 and σ(u) = 1/∞ = 0.
template <class V>
MASO_ALWAYS_INLINE V sigmoid_of_negated_score(V m) {
    using O = simd::ops<V>;
    return O::reciprocal(O::broadcast(1) + O::fast_exp(m));
}

/// σ(u) and σ(u)σ(−u), for |u| ≤ score_cap.
template <class V>
MASO_ALWAYS_INLINE two_posterior<V> posterior_of_score(V u) {
    using O = simd::ops<V>;
    const V E = O::fast_exp(-u);
    const V p1 = O::reciprocal(O::broadcast(1) + E);
    return {p1, E * p1 * p1};
}

template <class V, class T>
MASO_ALWAYS_INLINE V clamp_score(V u) {
    return simd::ops<V>::clamp(u, score_cap<T>);
}

template <elementwise_unit U, class T>
struct two_slopes {
    T c0, delta;
    /// The closed forms assume region values c_0 z and c_1 z with c_0 < c_1
    /// (region 1 wins for z > 0) and no offsets; a unit that breaks this is
    /// refused rather than computed wrongly (vq/derive.hpp handles any unit).
    explicit two_slopes(const U& u)
        : c0(u.template slope<T>(0, 0)),
          delta(u.template slope<T>(1, 0) - u.template slope<T>(0, 0)) {
        if (!(delta > T(0)) || u.template offset<T>(0) != T(0) || u.template offset<T>(1) != T(0))
            throw value_error("maso: the elementwise closed forms need regions c0*z and c1*z "
                              "with c0 < c1 and no offsets; use vq/derive.hpp for this unit");
    }
};
} // namespace detail

/// Hard (β = 1) pass of an elementwise unit.
template <elementwise_unit U, class T>
struct hard_pass {
    static_assert(U::regions == 2, "maso E003: the elementwise kernels have closed forms for "
                                   "two-region units only");
    detail::two_slopes<U, T> s;
    explicit hard_pass(const U& u) : s(u) {}

    template <class V>
    MASO_ALWAYS_INLINE V forward(V z) const {
        using O = simd::ops<V>;
        const V c =
            O::select(z > O::broadcast(0), O::broadcast(s.c0 + s.delta), O::broadcast(s.c0));
        return c * z;
    }
    template <class V>
    MASO_ALWAYS_INLINE V backward(V z, V dy, V& /*dtheta*/) const {
        using O = simd::ops<V>;
        return dy *
               O::select(z > O::broadcast(0), O::broadcast(s.c0 + s.delta), O::broadcast(s.c0));
    }
    /// The region forward picks, 0 or 1, as a value: region 1 wins where c_1 z > c_0 z.
    template <class V>
    MASO_ALWAYS_INLINE V region(V z) const {
        using O = simd::ops<V>;
        return O::select(z > O::broadcast(0), O::broadcast(1), O::broadcast(0));
    }
};

/// β-VQ pass (0 ≤ β < 1) of an elementwise unit: swish and its relatives.
template <elementwise_unit U, class T>
struct beta_pass {
    static_assert(U::regions == 2, "maso E003: the elementwise kernels have closed forms for "
                                   "two-region units only");
    detail::two_slopes<U, T> s;
    T eta; ///< min(e^θ, eta_cap)
    beta_pass(const U& u, basic_beta<T> b) : s(u), eta(std::min(b.eta(), detail::eta_cap<T>)) {}

    template <class V>
    MASO_ALWAYS_INLINE V score(V z) const {
        return detail::clamp_score<V, T>(simd::ops<V>::broadcast(eta * s.delta) * z);
    }
    template <class V>
    MASO_ALWAYS_INLINE V forward(V z) const {
        using O = simd::ops<V>;
        const V p1 = detail::sigmoid_of_negated_score(O::broadcast(-eta * s.delta) * z);
        return z * O::fma(O::broadcast(s.delta), p1, O::broadcast(s.c0));
    }
    /// Returns ∂L/∂z and adds ∂L/∂θ to dtheta.
    template <class V>
    MASO_ALWAYS_INLINE V backward(V z, V dy, V& dtheta) const {
        using O = simd::ops<V>;
        const V u = score(z);
        const auto q = detail::posterior_of_score(u);
        const V delta = O::broadcast(s.delta);
        const V up = u * q.p0p1;
        dtheta = O::fma(dy * delta * z, up, dtheta);
        return dy * O::fma(delta, q.p1 + up, O::broadcast(s.c0));
    }
    /// The posterior of region r: p_1 = σ(η Δ z), p_0 = 1 − p_1 (σ(−u), formed as forward's).
    template <class V>
    MASO_ALWAYS_INLINE V probability(V z, std::size_t r) const {
        using O = simd::ops<V>;
        const V m = O::broadcast(-eta * s.delta) * z;
        return detail::sigmoid_of_negated_score(r == 1 ? m : -m);
    }
};

/// Hard (β = 1) readout of S: the weight of the region that wins, w_1 for z > 0 and w_0
/// otherwise (the tie rule) — a step for the sigmoid, the sign for tanh. Its derivative
/// is 0 wherever it exists, and β = 1 has no gradient in θ.
template <two_region_readout S, class T>
struct hard_readout_pass {
    T w0 = T(S::weight[0]), w1 = T(S::weight[1]);

    template <class V>
    MASO_ALWAYS_INLINE V forward(V z) const {
        using O = simd::ops<V>;
        return O::select(z > O::broadcast(0), O::broadcast(w1), O::broadcast(w0));
    }
    template <class V>
    MASO_ALWAYS_INLINE V backward(V, V, V& /*dtheta*/) const {
        return simd::ops<V>::broadcast(0);
    }
};

/// Soft-layer output pass (sigmoid, tanh) of a two-region readout S.
template <two_region_readout S, class T>
struct soft_pass {
    detail::two_slopes<typename S::unit_type, T> s;
    T eta;
    T w0 = T(S::weight[0]), dw = T(S::weight[1] - S::weight[0]);
    explicit soft_pass(basic_beta<T> b)
        : s(typename S::unit_type{}), eta(std::min(b.eta(), detail::eta_cap<T>)) {}

    template <class V>
    MASO_ALWAYS_INLINE V score(V z) const {
        return detail::clamp_score<V, T>(simd::ops<V>::broadcast(eta * s.delta) * z);
    }
    template <class V>
    MASO_ALWAYS_INLINE V forward(V z) const {
        using O = simd::ops<V>;
        const V p1 = detail::sigmoid_of_negated_score(O::broadcast(-eta * s.delta) * z);
        return O::fma(O::broadcast(dw), p1, O::broadcast(w0));
    }
    template <class V>
    MASO_ALWAYS_INLINE V backward(V z, V dy, V& dtheta) const {
        using O = simd::ops<V>;
        const V u = score(z);
        const V pp = detail::posterior_of_score(u).p0p1;
        const V gdy = dy * O::broadcast(dw) * pp;
        dtheta = O::fma(gdy, u, dtheta);
        return gdy * O::broadcast(s.delta * eta);
    }
};

} // namespace maso::vq
