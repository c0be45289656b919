// maso/simd/ops.hpp — element math on one value, shared by scalar and SIMD code.
//
// Formulas in vq/ are written once against `ops<V>`, where V is either a plain
// float/double or an xsimd batch. This header gives the scalar specialisation
// (<cmath> only); simd/batch_ops.hpp gives the batch one. Keeping the formula in
// one place is what makes "SIMD == scalar" a test of the instruction set and
// the loop tails, not of two hand-written copies of the math.
#pragma once

#include <cmath>
#include <type_traits>

// The formulas are nests of small functions; inside a fused loop GCC's inliner
// sometimes stops one level short and calls posterior_of_score once per batch,
// which cost 30% of the throughput. The functions on the hot path insist.
#if defined(__GNUC__) || defined(__clang__)
#define MASO_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define MASO_ALWAYS_INLINE inline
#endif

namespace maso::simd {

template <class V, class = void>
struct ops;

template <class T>
struct ops<T, std::enable_if_t<std::is_floating_point_v<T>>> {
    using value_type = T;
    using mask_type = bool;
    static T broadcast(T x) noexcept { return x; }
    static T exp(T x) noexcept { return std::exp(x); }
    /// The batch versions of these two are fast (simd/batch_ops.hpp); these are
    /// the references they are tested against.
    static T fast_exp(T x) noexcept { return std::exp(x); }
    static T reciprocal(T x) noexcept { return T(1) / x; }
    /// x clamped to [−c, c].
    static T clamp(T x, T c) noexcept { return x < -c ? -c : (c < x ? c : x); }
    static T abs(T x) noexcept { return std::fabs(x); }
    static T min(T a, T b) noexcept { return a < b ? a : b; }
    static T max(T a, T b) noexcept { return a < b ? b : a; }
    static T fma(T a, T b, T c) noexcept { return a * b + c; }
    static T select(bool m, T a, T b) noexcept { return m ? a : b; }
    static T reduce_add(T x) noexcept { return x; }
};

} // namespace maso::simd
