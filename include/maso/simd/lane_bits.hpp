// maso/simd/lane_bits.hpp — a comparison's lanes as the bits of an integer: lane l is bit l.
//
// What run/codes.hpp packs a two-region unit's codes with (one bit a unit). xsimd 8 has no
// batch_bool::mask(); the x86 instruction sets say it in one instruction (movemask, or the
// AVX-512 mask register itself), chosen by overload on the arch tag, as simd/ does for its
// other intrinsics, with a portable fallback that stores the lanes and gathers them.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace maso::simd {

namespace detail {
/// Any arch: the lanes stored as bools, gathered.
template <class T, class A>
std::uint64_t lane_bits_generic(const xsimd::batch_bool<T, A>& m) noexcept {
    constexpr std::size_t W = xsimd::batch_bool<T, A>::size;
    alignas(64) bool lanes[W];
    m.store_aligned(lanes);
    std::uint64_t bits = 0;
    for (std::size_t l = 0; l < W; ++l)
        bits |= std::uint64_t(lanes[l]) << l;
    return bits;
}
} // namespace detail

template <class T, class A>
std::uint64_t lane_bits(const xsimd::batch_bool<T, A>& m) noexcept {
#if defined(__AVX512F__)
    if constexpr (std::is_base_of_v<xsimd::avx512f, A>)
        return std::uint64_t(m.data); // the mask register: lane l is bit l
#endif
#if defined(__AVX__)
    if constexpr (std::is_base_of_v<xsimd::avx, A>) {
        if constexpr (std::is_same_v<T, float>)
            return std::uint64_t(unsigned(_mm256_movemask_ps(m)));
        else if constexpr (std::is_same_v<T, double>)
            return std::uint64_t(unsigned(_mm256_movemask_pd(m)));
    }
#endif
#if defined(__SSE2__)
    if constexpr (std::is_base_of_v<xsimd::sse2, A>) {
        if constexpr (std::is_same_v<T, float>)
            return std::uint64_t(unsigned(_mm_movemask_ps(m)));
        else if constexpr (std::is_same_v<T, double>)
            return std::uint64_t(unsigned(_mm_movemask_pd(m)));
    }
#endif
    return detail::lane_bits_generic(m);
}

} // namespace maso::simd
