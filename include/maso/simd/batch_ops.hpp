// maso/simd/batch_ops.hpp — ops<V> for xsimd batches (see simd/ops.hpp).
#pragma once

#include <maso/simd/ops.hpp>

// GCC 12's AVX-512 intrinsics self-initialise their undefined operands
// (`__m512 __Y = __Y;`), which -Wuninitialized reports once xsimd inlines them
// (GCC PR105593, fixed in GCC 13). The pragma is scoped to xsimd's headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace maso::simd {

template <class T, class A>
struct ops<xsimd::batch<T, A>> {
    using batch = xsimd::batch<T, A>;
    using value_type = T;
    using mask_type = typename batch::batch_bool_type;
    static batch broadcast(T x) noexcept { return batch(x); }
    static batch exp(batch x) noexcept { return xsimd::exp(x); }
    static batch abs(batch x) noexcept { return xsimd::abs(x); }
    static batch min(batch a, batch b) noexcept { return xsimd::min(a, b); }
    static batch max(batch a, batch b) noexcept { return xsimd::max(a, b); }
    static batch fma(batch a, batch b, batch c) noexcept { return xsimd::fma(a, b, c); }
    static batch select(mask_type m, batch a, batch b) noexcept { return xsimd::select(m, a, b); }
    static T reduce_add(batch x) noexcept { return xsimd::hadd(x); }
};

} // namespace maso::simd
