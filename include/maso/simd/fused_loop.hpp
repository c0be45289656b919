// maso/simd/fused_loop.hpp — the one loop skeleton every elementwise pass uses.
//
// A pass reads NIn arrays, writes NOut arrays of the same length n and may keep
// NAcc running sums (a gradient in β, say) in the same pass. Its body is a
// generic callable on values V — a float/double, or an xsimd batch:
//
//     std::array<V, NOut> body(const std::array<V, NIn>& in, std::array<V, NAcc>& acc);
//
// fused_loop returns the NAcc sums reduced to scalars.
// For an xsimd arch (simd/batch_loop.hpp) the body runs on full batches, then
// once on a batch-sized copy of the tail padded with zeros, so the tail goes
// through the same SIMD code as the body. Contract for accumulators: a lane
// whose inputs are all zero must add zero — padded lanes are not masked.
// For simd::scalar_arch the body runs on one element at a time with V = T.
#pragma once

#include <maso/simd/scalar_arch.hpp>

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace maso::simd {

namespace detail {
template <std::size_t N, class F>
constexpr void static_for(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<N>{});
}
} // namespace detail

/// Scalar reference: one element at a time, no xsimd.
template <std::size_t NAcc = 0, class T, std::size_t NIn, std::size_t NOut, class Body>
std::array<T, NAcc> fused_loop(scalar_arch, std::size_t n, const std::array<const T*, NIn> in,
                               const std::array<T*, NOut> out, Body body) {
    std::array<T, NAcc> acc{};
    for (std::size_t i = 0; i < n; ++i) {
        std::array<T, NIn> v;
        detail::static_for<NIn>([&](auto k) { v[k] = in[k][i]; });
        const std::array<T, NOut> r = body(v, acc);
        detail::static_for<NOut>([&](auto k) { out[k][i] = r[k]; });
    }
    return acc;
}

} // namespace maso::simd
