// maso/vq/derive.hpp — hard, β-VQ and soft-layer inference derived from a unit.
//
// Given only a unit's regions (vq/unit.hpp), this header computes, in any
// floating type T and for any number of regions R (paper-spec §1, §3, §3.1):
//
//   hard (β = 1)   y = max_r v_r; tie rule: the LOWEST region index wins, so
//                  ReLU'(0) = 0 and |·|'(0) = −1, as frameworks do.
//   β-VQ (β < 1)   p = softmax(η v), y = Σ_r p_r v_r,
//                  ∂y/∂v_j = p_j (1 + η (v_j − y)),  ∂y/∂η = Var_p(v) = Σ_r p_r (v_r − y)²
//   soft output    the probabilities p themselves,
//                  ∂p_r/∂v_j = η p_r (δ_rj − p_j),   ∂p_r/∂η = p_r (v_r − y)
//
// Gradients in η are also returned in θ (β = σ(θ), η = e^θ): ∂/∂θ = η ∂/∂η,
// taken as 0 where ∂/∂η = 0 so that η = ∞ never produces ∞·0.
// This scalar code is the reference the closed forms and SIMD kernels are tested
// against; it is exact for every R, including η = 0 and η = ∞.
//
// The stable softmax (max subtracted, η = ∞ safe) and its moments are written once, for
// R given at run time over a span of values, member by member as vq/beta_window.hpp forms
// each term (hard_region, posterior_of, beta_forward and
// beta_backward taking spans); the std::array forms of a unit's compile-time R call them.
// The span forms also serve units whose regions are the inputs themselves (v = x: a
// pooling window, whose R may be a whole plane), with no chain through slopes.
#pragma once

#include <maso/vq/beta_window.hpp>
#include <maso/vq/unit.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

namespace maso::vq {

template <class T, std::size_t R>
using region_values = std::array<T, R>;

/// v_r = Σ_i slope(r, i) x_i + offset(r).
template <spline_unit U, class T>
region_values<T, U::regions> regions_of(const U& u, const std::array<T, U::inputs>& x) {
    region_values<T, U::regions> v{};
    for (std::size_t r = 0; r < U::regions; ++r) {
        T s = u.template offset<T>(r);
        for (std::size_t i = 0; i < U::inputs; ++i)
            s += u.template slope<T>(r, i) * x[i];
        v[r] = s;
    }
    return v;
}

// ---- any number of regions, given at run time --------------------------------------

/// The region the hard path selects: the first maximum (v not empty).
template <class T>
std::size_t hard_region(std::span<const T> v) noexcept {
    std::size_t best = 0;
    for (std::size_t r = 1; r < v.size(); ++r)
        if (v[r] > v[best]) best = r;
    return best;
}

/// The moments of the β-VQ posterior p = softmax(η v).
template <class T>
struct posterior_moments {
    T mean;     ///< Σ p_r v_r — the β-VQ output
    T variance; ///< Σ p_r (v_r − mean)² = ∂mean/∂η
};

namespace detail {
/// The window's terms (vq/beta_window.hpp) and its sums Σ_r e_r, Σ_r e_r v_r, e_r also
/// written to e unless it is empty. The regions tied at the max get e = 1 even when η = ∞,
/// so η = ∞ yields the uniform distribution over the tied maxima — the β → 1 limit —
/// instead of ∞·0.
template <class T>
summed_window<T> exp_sums_of(std::span<const T> v, T eta, std::span<T> e) noexcept {
    summed_window<T> s{beta_window<T>(v[hard_region(v)], eta), beta_window<T>::no_sums()};
    for (std::size_t r = 0; r < v.size(); ++r) {
        const T er = s.window.weight(v[r]);
        if (!e.empty()) e[r] = er;
        s.sums.add(er, v[r]);
    }
    return s;
}
} // namespace detail

/// y = Σ_r softmax(η v)_r v_r in one pass, storing nothing: the β-VQ output of a unit whose
/// regions are its inputs.
template <class T>
T beta_forward(std::type_identity_t<std::span<const T>> v, T eta) noexcept {
    return detail::exp_sums_of(v, eta, std::span<T>{}).sums.mean();
}

/// p = softmax(η v), stable, into p (of v's size) unless p is empty, and its moments. The
/// variance is Σ p (v − mean)², not Σ p v² − mean², which cancels (paper-spec §9.3).
template <class T>
posterior_moments<T> posterior_of(std::type_identity_t<std::span<const T>> v, T eta,
                                  std::type_identity_t<std::span<T>> p) noexcept {
    const auto s = detail::exp_sums_of(v, eta, p); // p holds e_r: the second pass needs no exp
    posterior_moments<T> q{s.sums.mean(), 0};
    for (std::size_t r = 0; r < v.size(); ++r) {
        const T pr = (p.empty() ? s.window.weight(v[r]) : p[r]) / s.sums.total;
        if (!p.empty()) p[r] = pr;
        q.variance += pr * (v[r] - q.mean) * (v[r] - q.mean);
    }
    return q;
}

/// β-VQ backward of a unit whose regions are its inputs (v = x, slopes the identity): writes
/// dv_j = dy · p_j (1 + η (v_j − y)) unless dv is empty (dv may not alias v) and returns
/// ∂L/∂η = dy · Var_p(v), each member's terms as vq/beta_window.hpp forms them. At η = ∞ only
/// tied maxima carry weight and v_j = y for them, so the spread term is dropped and
/// ∂L/∂η = 0 (y no longer moves with η).
template <class T>
T beta_backward(std::type_identity_t<std::span<const T>> v, T eta, T dy,
                std::type_identity_t<std::span<T>> dv) noexcept {
    const auto s = detail::exp_sums_of(v, eta, dv); // dv holds e_r: no second exp
    const T y = s.sums.mean(), inv = T(1) / s.sums.total;
    T deta = 0;
    for (std::size_t j = 0; j < v.size(); ++j) {
        const T e = dv.empty() ? s.window.weight(v[j]) : dv[j];
        const T g = s.window.gradient(v[j], e, y, inv, dy, deta);
        if (!dv.empty()) dv[j] = g;
    }
    return beta_window<T>::eta_gradient(eta, deta);
}

/// ∂L/∂θ = η ∂L/∂η (β = σ(θ), η = e^θ), taken as 0 where ∂L/∂η = 0 so that η = ∞ never
/// gives ∞·0.
template <class T>
T theta_gradient(T deta, T eta) noexcept {
    return deta == T(0) ? T(0) : eta * deta;
}

// ---- a unit's R regions, known at compile time -------------------------------------

/// The region the hard path selects: the first maximum.
template <class T, std::size_t R>
std::size_t hard_region(const region_values<T, R>& v) {
    return hard_region(std::span<const T>(v));
}

/// The β-VQ posterior over regions and its first two moments.
template <class T, std::size_t R>
struct posterior {
    std::array<T, R> p; ///< softmax(η v)
    T mean;             ///< Σ p_r v_r — the β-VQ output
    T variance;         ///< Σ p_r (v_r − mean)² = ∂mean/∂η
};

/// Stable softmax(η v) and its moments: the span form's, into an array.
template <class T, std::size_t R>
posterior<T, R> posterior_of(const region_values<T, R>& v, T eta) {
    posterior<T, R> q{};
    const auto m = posterior_of<T>(v, eta, q.p);
    q.mean = m.mean;
    q.variance = m.variance;
    return q;
}

/// Gradient of a scalar loss with respect to one unit's inputs and its β.
template <class T, std::size_t N>
struct unit_gradient {
    std::array<T, N> dx{};
    T deta = 0;   ///< ∂L/∂η
    T dtheta = 0; ///< ∂L/∂θ = η ∂L/∂η
    /// ∂L/∂β = ∂L/∂η · dη/dβ with dη/dβ = 1/(1−β)² = (1+η)².
    T dbeta(T eta) const noexcept { return deta == T(0) ? T(0) : deta * (1 + eta) * (1 + eta); }
};

namespace detail {
/// dx_i = Σ_r dv_r slope(r, i): the chain through the affine regions.
template <spline_unit U, class T>
std::array<T, U::inputs> chain_to_inputs(const U& u, const region_values<T, U::regions>& dv) {
    std::array<T, U::inputs> dx{};
    for (std::size_t i = 0; i < U::inputs; ++i)
        for (std::size_t r = 0; r < U::regions; ++r)
            dx[i] += dv[r] * u.template slope<T>(r, i);
    return dx;
}
} // namespace detail

// ---- hard (β = 1) ------------------------------------------------------------------

template <spline_unit U, class T>
T hard_forward(const U& u, const std::array<T, U::inputs>& x) {
    const auto v = regions_of(u, x);
    return v[hard_region(v)];
}

/// ∂L/∂x for upstream dy; no β gradient on the hard path.
template <spline_unit U, class T>
unit_gradient<T, U::inputs> hard_backward(const U& u, const std::array<T, U::inputs>& x, T dy) {
    const auto v = regions_of(u, x);
    region_values<T, U::regions> dv{};
    dv[hard_region(v)] = dy;
    return {detail::chain_to_inputs(u, dv), T(0), T(0)};
}

// ---- β-VQ (0 ≤ β < 1; η = ∞ gives the tie-averaged limit) -------------------------

template <spline_unit U, class T>
T beta_forward(const U& u, const std::array<T, U::inputs>& x, T eta) {
    return beta_forward<T>(regions_of(u, x), eta);
}

/// The regions' gradient is the span form's, then chained through the slopes.
template <spline_unit U, class T>
unit_gradient<T, U::inputs> beta_backward(const U& u, const std::array<T, U::inputs>& x, T eta,
                                          T dy) {
    const auto v = regions_of(u, x);
    region_values<T, U::regions> dv{};
    const T deta = beta_backward<T>(v, eta, dy, dv);
    return {detail::chain_to_inputs(u, dv), deta, theta_gradient(deta, eta)};
}

// ---- soft-layer output: the probabilities ------------------------------------------

template <spline_unit U, class T>
std::array<T, U::regions> soft_forward(const U& u, const std::array<T, U::inputs>& x, T eta) {
    return posterior_of(regions_of(u, x), eta).p;
}

/// dp is the upstream gradient on each probability.
template <spline_unit U, class T>
unit_gradient<T, U::inputs> soft_backward(const U& u, const std::array<T, U::inputs>& x, T eta,
                                          const std::array<T, U::regions>& dp) {
    const auto v = regions_of(u, x);
    const auto q = posterior_of(v, eta);
    if (std::isinf(eta)) return {}; // p is piecewise constant in the limit
    // dp_j − Σ_r dp_r p_r and v_j − Σ_r p_r v_r are summed as Σ_r p_r (a_j − a_r):
    // when p is nearly one-hot the subtraction of two nearly equal numbers would
    // lose every digit of σ(u)σ(−u)-sized results (paper-spec §9.2).
    region_values<T, U::regions> dv{};
    T deta = 0;
    for (std::size_t j = 0; j < U::regions; ++j) {
        T dp_centered = 0, v_centered = 0;
        for (std::size_t r = 0; r < U::regions; ++r) {
            dp_centered += q.p[r] * (dp[j] - dp[r]);
            v_centered += q.p[r] * (v[j] - v[r]);
        }
        dv[j] = eta * q.p[j] * dp_centered;
        deta += dp[j] * q.p[j] * v_centered;
    }
    return {detail::chain_to_inputs(u, dv), deta, theta_gradient(deta, eta)};
}

} // namespace maso::vq
