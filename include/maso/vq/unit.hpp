// maso/vq/unit.hpp — the spline-unit contract.
//
// A spline unit is one small struct of pure math: it has `inputs` inputs and
// `regions` regions, and the value of region r is an affine function of the
// inputs,
//
//     v_r(x) = Σ_i slope(r, i) · x_i + offset(r)          (paper-spec §1, eq. 2)
//
// Everything else — hard, β-VQ and soft-layer inference, their backward passes
// and the SIMD kernels — is derived from this description in vq/derive.hpp and
// vq/elementwise.hpp. A new nonlinearity is one header that models the concept.
#pragma once

#include <concepts>
#include <cstddef>

namespace maso::vq {

template <class U>
concept spline_unit = requires(const U& u, std::size_t r, std::size_t i) {
    { U::inputs } -> std::convertible_to<std::size_t>;
    { U::regions } -> std::convertible_to<std::size_t>;
    { u.template slope<double>(r, i) } -> std::same_as<double>;
    { u.template offset<double>(r) } -> std::same_as<double>;
};

/// A unit applied to each element on its own (ReLU, leaky ReLU, |·|): one input
/// z and regions slope(r)·z. These get the closed-form SIMD kernels.
template <class U>
concept elementwise_unit = spline_unit<U> &&(U::inputs == 1);

/// A unit whose regions are its inputs (window max, channel max): v_r = x_r.
template <class U>
concept selection_unit = spline_unit<U> &&(U::inputs == U::regions) && requires {
    U::is_selection;
};

} // namespace maso::vq
