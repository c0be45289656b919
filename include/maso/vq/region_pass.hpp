// maso/vq/region_pass.hpp — the hard and β-VQ passes of an elementwise unit with any
// number of regions, on any value V.
//
// Region r of the unit is the affine piece v_r = s_r z + o_r (its slope and offset,
// vq/unit.hpp). For R = 2 with no offsets, vq/elementwise.hpp's closed forms need one exp;
// any other unit — three regions or more, offsets, knots away from 0 — runs these, R exps a
// value (paper-spec §3.1):
//
//   hard   y = v_r*, r* the first maximum (the tie rule),  ∂y/∂z = s_r*
//   β-VQ   p = softmax(η v),  y = Σ p_r v_r,
//          ∂y/∂z = Σ p_r s_r (1 + η (v_r − y)),  ∂y/∂θ = η ∂y/∂η = η Σ p_r (v_r − y)²
//
// The exponents are u_r = η (v_r − max v) ≤ 0, clamped below at −score_cap as the closed
// forms clamp theirs: p_r = e^{u_r} / Σ e^{u}. η (v_r − y) is then u_r − ū with
// ū = Σ p_r u_r, which never multiplies η = 1e30 by a p_r that is only as small as the
// clamp allows, and is 0 at η = 0; so ∂y/∂θ = Σ p_r (v_r − y)(u_r − ū).
#pragma once

#include <maso/simd/ops.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/elementwise.hpp>
#include <maso/vq/unit.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

namespace maso::vq {

namespace detail {
/// The slopes and offsets of an elementwise unit's regions, in T.
template <elementwise_unit U, class T>
struct region_pieces {
    static constexpr std::size_t R = U::regions;
    std::array<T, R> slope{}, offset{};
    explicit region_pieces(const U& u) {
        for (std::size_t r = 0; r < R; ++r) {
            slope[r] = u.template slope<T>(r, 0);
            offset[r] = u.template offset<T>(r);
        }
    }
    template <class V>
    MASO_ALWAYS_INLINE V value(std::size_t r, V z) const {
        using O = simd::ops<V>;
        return O::fma(O::broadcast(slope[r]), z, O::broadcast(offset[r]));
    }
};
} // namespace detail

/// Hard (β = 1) pass of an elementwise unit of any number of regions.
template <elementwise_unit U, class T>
struct region_hard_pass {
    static constexpr std::size_t R = U::regions;
    detail::region_pieces<U, T> pieces;
    explicit region_hard_pass(const U& u) : pieces(u) {}

    template <class V>
    MASO_ALWAYS_INLINE V forward(V z) const {
        using O = simd::ops<V>;
        V best = pieces.value(0, z);
        for (std::size_t r = 1; r < R; ++r) {
            const V v = pieces.value(r, z);
            best = O::select(v > best, v, best);
        }
        return best;
    }
    template <class V>
    MASO_ALWAYS_INLINE V backward(V z, V dy, V& /*dtheta*/) const {
        using O = simd::ops<V>;
        V best = pieces.value(0, z), slope = O::broadcast(pieces.slope[0]);
        for (std::size_t r = 1; r < R; ++r) {
            const V v = pieces.value(r, z);
            const auto wins = v > best;
            best = O::select(wins, v, best);
            slope = O::select(wins, O::broadcast(pieces.slope[r]), slope);
        }
        return dy * slope;
    }
    /// The region forward picks, as a value: the first maximum (the tie rule).
    template <class V>
    MASO_ALWAYS_INLINE V region(V z) const {
        using O = simd::ops<V>;
        V best = pieces.value(0, z), index = O::broadcast(0);
        for (std::size_t r = 1; r < R; ++r) {
            const V v = pieces.value(r, z);
            const auto wins = v > best;
            best = O::select(wins, v, best);
            index = O::select(wins, O::broadcast(T(r)), index);
        }
        return index;
    }
};

/// β-VQ pass (0 ≤ β < 1) of an elementwise unit of any number of regions.
template <elementwise_unit U, class T>
struct region_beta_pass {
    static constexpr std::size_t R = U::regions;
    detail::region_pieces<U, T> pieces;
    T eta; ///< min(e^θ, eta_cap)
    region_beta_pass(const U& u, basic_beta<T> b)
        : pieces(u), eta(std::min(b.eta(), detail::eta_cap<T>)) {}

    /// The region values, their exponents u_r and e^{u_r}, and 1 / Σ e^{u}.
    template <class V>
    struct posterior {
        std::array<V, R> v, u, e;
        V inv_sum;
    };
    template <class V>
    MASO_ALWAYS_INLINE posterior<V> posterior_of(V z) const {
        using O = simd::ops<V>;
        posterior<V> q;
        V top = q.v[0] = pieces.value(0, z);
        for (std::size_t r = 1; r < R; ++r)
            top = O::max(top, q.v[r] = pieces.value(r, z));
        V sum = O::broadcast(0);
        for (std::size_t r = 0; r < R; ++r) {
            const V floor = O::broadcast(-detail::score_cap<T>);
            q.u[r] = O::max(O::broadcast(eta) * (q.v[r] - top), floor);
            sum += q.e[r] = O::fast_exp(q.u[r]);
        }
        q.inv_sum = O::reciprocal(sum);
        return q;
    }

    template <class V>
    MASO_ALWAYS_INLINE V forward(V z) const {
        using O = simd::ops<V>;
        const posterior<V> q = posterior_of(z);
        V y = O::broadcast(0);
        for (std::size_t r = 0; r < R; ++r)
            y = O::fma(q.e[r], q.v[r], y);
        return y * q.inv_sum;
    }
    /// Returns ∂L/∂z and adds ∂L/∂θ to dtheta.
    template <class V>
    MASO_ALWAYS_INLINE V backward(V z, V dy, V& dtheta) const {
        using O = simd::ops<V>;
        const posterior<V> q = posterior_of(z);
        V y = O::broadcast(0), ubar = O::broadcast(0);
        for (std::size_t r = 0; r < R; ++r) {
            y = O::fma(q.e[r], q.v[r], y);
            ubar = O::fma(q.e[r], q.u[r], ubar);
        }
        y = y * q.inv_sum;
        ubar = ubar * q.inv_sum;
        V dz = O::broadcast(0), dth = O::broadcast(0);
        for (std::size_t r = 0; r < R; ++r) {
            const V spread = q.u[r] - ubar; // η (v_r − y)
            dz = O::fma(q.e[r] * O::broadcast(pieces.slope[r]), O::broadcast(1) + spread, dz);
            dth = O::fma(q.e[r] * (q.v[r] - y), spread, dth);
        }
        dtheta = O::fma(dy, dth * q.inv_sum, dtheta);
        return dy * dz * q.inv_sum;
    }
    /// The posterior p_r = softmax(η v)_r.
    template <class V>
    MASO_ALWAYS_INLINE V probability(V z, std::size_t r) const {
        const posterior<V> q = posterior_of(z);
        return q.e[r] * q.inv_sum;
    }
};

/// The passes a layer runs for unit U: the closed forms for two regions, else the
/// region passes.
template <elementwise_unit U, class T>
using hard_pass_for = std::conditional_t<U::regions == 2, hard_pass<U, T>, region_hard_pass<U, T>>;
template <elementwise_unit U, class T>
using beta_pass_for = std::conditional_t<U::regions == 2, beta_pass<U, T>, region_beta_pass<U, T>>;

} // namespace maso::vq
