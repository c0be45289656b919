// maso/vq/kernel.hpp — the elementwise β-VQ pass over arrays, forward and backward.
//
//   forward (arch, pass, z, y)          y_i = pass(z_i)
//   backward(arch, pass, z, dy, dz)     dz_i = dy_i ∂y/∂z(z_i), and returns Σ_i dy_i ∂y_i/∂θ
//
// The β gradient is reduced in the same pass that writes dz: one read of z and dy,
// one write of dz. `pass` is a hard_pass, beta_pass or soft_pass (vq/elementwise.hpp);
// `arch` is an xsimd arch tag (include <maso/simd/batch_loop.hpp>) or
// simd::scalar_arch for the reference. dz may alias dy (in-place backward).
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/value_type.hpp>
#include <maso/simd/batch_loop.hpp>
#include <maso/vq/elementwise.hpp>
#include <maso/vq/region_pass.hpp>

#include <span>

namespace maso::vq {

template <class Arch, class Pass, class T>
void forward(Arch arch, const Pass& pass, std::span<const T> z, std::span<T> y) {
    // The body sits in the else branch so that a bad T stops at the coded error:
    // clang++ otherwise goes on instantiating the loop and adds two more.
    if constexpr (!is_value_type_v<T>) {
        static_assert(is_value_type_v<T>, "maso E002: maso computes in float or double; "
                                          "this element type is not supported");
    } else {
        maso::detail::check_same_size(z.size(), y.size(),
                                      "the output of the elementwise forward pass");
        // The pass is captured by value: through a reference its η and slopes are
        // reloaded and rebroadcast after every store of y (xsimd stores through
        // may_alias types, which could alias them).
        simd::fused_loop(arch, z.size(), std::array<const T*, 1>{z.data()},
                         std::array<T*, 1>{y.data()},
                         [pass](const auto& in, auto&) { return std::array{pass.forward(in[0])}; });
    }
}

template <class Arch, class Pass, class T>
T backward(Arch arch, const Pass& pass, std::span<const T> z, std::span<const T> dy,
           std::span<T> dz) {
    if constexpr (!is_value_type_v<T>) {
        static_assert(is_value_type_v<T>, "maso E002: maso computes in float or double; "
                                          "this element type is not supported");
        return T{};
    } else {
        maso::detail::check_same_size(z.size(), dy.size(), "the upstream gradient dy");
        maso::detail::check_same_size(z.size(), dz.size(), "the input gradient dz");
        const auto sums =
            simd::fused_loop<1>(arch, z.size(), std::array<const T*, 2>{z.data(), dy.data()},
                                std::array<T*, 1>{dz.data()}, [pass](const auto& in, auto& acc) {
                                    return std::array{pass.backward(in[0], in[1], acc[0])};
                                });
        return sums[0];
    }
}

} // namespace maso::vq

namespace maso::vq {

/// β-VQ forward of an elementwise unit; β = 1 exactly takes the hard pass.
template <class Arch, elementwise_unit U, class T>
void beta_vq_forward(Arch arch, const U& unit, basic_beta<T> b, std::span<const T> z,
                     std::span<T> y) {
    if (b.is_hard())
        forward(arch, hard_pass_for<U, T>(unit), z, y);
    else
        forward(arch, beta_pass_for<U, T>(unit, b), z, y);
}

/// β-VQ backward of an elementwise unit: writes dz, returns ∂L/∂θ (0 on the hard pass).
template <class Arch, elementwise_unit U, class T>
T beta_vq_backward(Arch arch, const U& unit, basic_beta<T> b, std::span<const T> z,
                   std::span<const T> dy, std::span<T> dz) {
    if (b.is_hard()) return backward(arch, hard_pass_for<U, T>(unit), z, dy, dz);
    return backward(arch, beta_pass_for<U, T>(unit, b), z, dy, dz);
}

} // namespace maso::vq
