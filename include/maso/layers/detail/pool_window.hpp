// maso/layers/detail/pool_window.hpp — one pooling window's math, shared by the pooling layers.
//
// Internal to layers/maxpool.hpp, avgpool.hpp, softpool.hpp, global_pool.hpp and maxout.hpp;
// users include those. For a window of R values v (paper-spec §4.4–§4.6, §3.1):
//
//   hard (β = 1)  y = v_r*, r* = the first maximum (vq/derive.hpp's tie rule: the lowest
//                 index wins), ∂y/∂v = e_r*
//   β-VQ          p = softmax(η v), y = Σ_r p_r v_r,
//                 ∂y/∂v_j = p_j (1 + η (v_j − y)),   ∂y/∂η = Var_p(v) = Σ_r p_r (v_r − y)²
//   average       β = 0 (η = 0): p uniform, y = (1/R) Σ_r v_r, ∂y/∂v_j = 1/R
//
// These are vq::posterior_of and vq::beta_backward for window_max<R>, with their numerics
// (the max subtracted before exp, regions tied at the max given exponent 0 so that η = ∞ is
// the tie-averaged limit and never ∞·0), written once for any R: R = 1 (a 1×1 window, which
// window_max refuses with E001), and a global pool's whole plane, where window_max's O(R²)
// chain through identity slopes and R-sized stack arrays would not do.
#pragma once

#include <maso/core/diagnostics.hpp>
#include <maso/core/shape.hpp>
#include <maso/expr/beta_spec.hpp>
#include <maso/vq/beta.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>

namespace maso::detail {

// ---- shapes ----------------------------------------------------------------------------
//
// expr/chain.hpp names N::output_shape<In> also for a fragment (In = no_input) and for an
// input that failed check<In>(), so these map anything that is not a valid shape, and a
// zero window, to invalid_shape instead of failing to compile.

template <class In, std::size_t K>
struct pooled_shape {
    using type = invalid_shape;
};
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K>
requires(K > 0) struct pooled_shape<shape<C, H, W>, K> {
    using type = shape<C, H / K, W / K>;
};
/// C channels of H×W → C channels of (H/K)×(W/K).
template <class In, std::size_t K>
using pooled_shape_t = typename pooled_shape<In, K>::type;

template <class In, std::size_t K>
struct grouped_shape {
    using type = invalid_shape;
};
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K>
requires(K > 0) struct grouped_shape<shape<C, H, W>, K> {
    using type = shape<C / K, H, W>;
};
/// C channels → C/K channels of the same map (maxout).
template <class In, std::size_t K>
using grouped_shape_t = typename grouped_shape<In, K>::type;

/// E018 for a zero window, E014 when K×K windows do not tile the map. A fragment's no_input
/// has nothing to check yet (expr/chain.hpp instantiates check<no_input> too).
template <class In, std::size_t K>
consteval diag check_pool() {
    if constexpr (K == 0)
        return diag::zero_extent;
    else if constexpr (!is_shape_v<In>)
        return diag::ok;
    else if constexpr (In::height % K != 0 || In::width % K != 0)
        return diag::pool_not_dividing;
    else
        return diag::ok;
}

// ---- K×K windows of one H×W plane ------------------------------------------------------

/// Window (i, j) of a plane of width W, row-major inside the window: the tie rule's order.
template <std::size_t K, std::size_t W, class T>
std::array<T, K * K> gather_window(const T* plane, std::size_t i, std::size_t j) noexcept {
    std::array<T, K * K> v;
    for (std::size_t a = 0; a < K; ++a)
        for (std::size_t b = 0; b < K; ++b)
            v[a * K + b] = plane[(i * K + a) * W + j * K + b];
    return v;
}
template <std::size_t K, std::size_t W, class T>
void scatter_window(const std::array<T, K * K>& v, T* plane, std::size_t i,
                    std::size_t j) noexcept {
    for (std::size_t a = 0; a < K; ++a)
        for (std::size_t b = 0; b < K; ++b)
            plane[(i * K + a) * W + j * K + b] = v[a * K + b];
}

// ---- hard (β = 1) ----------------------------------------------------------------------

/// The index the hard path selects: the first maximum, as vq::hard_region.
template <class T>
std::size_t first_max(const T* v, std::size_t R) noexcept {
    std::size_t best = 0;
    for (std::size_t r = 1; r < R; ++r)
        if (v[r] > v[best]) best = r;
    return best;
}

// ---- β-VQ (0 ≤ η ≤ ∞) ------------------------------------------------------------------

/// exp(η (v − m)) with m = max v; exactly 1 at the max, so η = ∞ gives 1 there and 0 elsewhere.
template <class T>
T shifted_exp(T v, T m, T eta) noexcept {
    return v == m ? T(1) : std::exp(eta * (v - m));
}

/// y = Σ_r softmax(η v)_r v_r.
template <class T>
T beta_window_forward(const T* v, std::size_t R, T eta) noexcept {
    const T m = v[first_max(v, R)];
    T total = 0, weighted = 0;
    for (std::size_t r = 0; r < R; ++r) {
        const T e = shifted_exp(v[r], m, eta);
        total += e;
        weighted += e * v[r];
    }
    return weighted / total;
}

/// Writes dv_j = dy · p_j (1 + η (v_j − y)) when dv is not null (dv may not alias v) and
/// returns dy · ∂y/∂η = dy · Var_p(v). At η = ∞ only tied maxima carry weight and v_j = y for
/// them, so the spread term is dropped and ∂y/∂η = 0 (y no longer moves with η).
template <class T>
T beta_window_backward(const T* v, std::size_t R, T eta, T dy, T* dv) noexcept {
    const T m = v[first_max(v, R)];
    T total = 0, weighted = 0;
    for (std::size_t r = 0; r < R; ++r) {
        const T e = shifted_exp(v[r], m, eta);
        if (dv) dv[r] = e; // kept so that the second pass needs no exp
        total += e;
        weighted += e * v[r];
    }
    const T y = weighted / total;
    const bool limit = std::isinf(eta);
    // Var_p as Σ p (v − y)², not Σ p v² − y², which cancels (paper-spec §9.3).
    T variance = 0;
    for (std::size_t r = 0; r < R; ++r) {
        const T p = (dv ? dv[r] : shifted_exp(v[r], m, eta)) / total;
        const T d = v[r] - y;
        variance += p * d * d;
        if (dv) dv[r] = dy * p * (1 + (limit ? T(0) : eta * d));
    }
    return limit ? T(0) : dy * variance;
}

/// ∂L/∂θ = η ∂L/∂η (β = σ(θ), η = e^θ), 0 where ∂L/∂η = 0 so that η = ∞ never gives ∞·0.
template <class T>
T theta_gradient(T deta, T eta) noexcept {
    return deta == T(0) ? T(0) : eta * deta;
}

// ---- β as a layer holds it -------------------------------------------------------------

/// A pooling layer's β: the fixed value of its beta_spec, or θ in the layer's parameters
/// (one for the layer, or one per channel), as layers/vq_node.hpp stores it.
template <class T>
struct beta_source {
    beta_spec spec;
    vq::basic_beta<T> fixed; ///< from_beta(spec.value), computed once

    explicit beta_source(const beta_spec& s)
        : spec(s), fixed(vq::basic_beta<T>::from_beta(T(s.value))) {}

    std::size_t parameter_count(std::size_t channels) const noexcept {
        return spec.parameter_count(channels);
    }
    /// θ = logit(β) for every θ.
    void initialize(std::span<T> params) const {
        for (auto& theta : params)
            theta = fixed.theta;
    }
    vq::basic_beta<T> of(std::span<const T> params, std::size_t c) const noexcept {
        if (!spec.learnable) return fixed;
        return {params[spec.per_channel ? c : 0]};
    }
    /// Where channel c's ∂L/∂θ is accumulated, or null for a fixed β.
    T* gradient(std::span<T> grads, std::size_t c) const noexcept {
        return spec.learnable ? grads.data() + (spec.per_channel ? c : 0) : nullptr;
    }
};

/// "β = 0.5, learnable per channel": the shortest decimal that reads back as the float.
inline std::string beta_label(const beta_spec& b) { return b.label(); }

} // namespace maso::detail
