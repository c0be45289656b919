// maso/simd/deinterleave.hpp — K batches of interleaved values split into K batches of one
// member each, and back.
//
//   deinterleave<K>(v)  m[b] lane l = element l·K + b of v[0] ‖ v[1] ‖ … ‖ v[K − 1]
//   interleave<K>(m)    its inverse
//
// The unfused pooling passes (layers/detail/window_pass.hpp) load a run of K·W consecutive
// values of an input row, which hold member b of W consecutive K×K windows at every K-th
// place, and need member b of those W windows as one batch (one window per lane), as the
// window math of layers/detail/window_lanes.hpp takes it; backward writes dx the other way.
// K = 2 — every pooling layer of the paper's networks — is two permutes on AVX-512 and AVX2
// and two shuffles on SSE2; any other K, or an arch without a case here, goes through an
// aligned buffer (correct everywhere, a store and K·W scalar moves).
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <array>
#include <cstddef>
#include <type_traits>

namespace maso::simd {

namespace detail {

template <class A>
inline constexpr bool is_avx2 = std::is_base_of_v<xsimd::avx2, A> && !is_avx512<A>;
template <class A>
inline constexpr bool is_sse2 = std::is_base_of_v<xsimd::sse2, A>;

/// The K-way (de)interleave through memory: out[b][l] = in[l·K + b] or its inverse.
template <std::size_t K, bool Split, class T, class A>
std::array<xsimd::batch<T, A>, K> interleave_in_memory(const std::array<xsimd::batch<T, A>, K>& v) {
    constexpr std::size_t W = xsimd::batch<T, A>::size;
    alignas(64) T in[K * W], out[K * W];
    for (std::size_t q = 0; q < K; ++q)
        v[q].store_aligned(in + q * W);
    for (std::size_t l = 0; l < W; ++l)
        for (std::size_t b = 0; b < K; ++b) {
            if constexpr (Split)
                out[b * W + l] = in[l * K + b];
            else
                out[l * K + b] = in[b * W + l];
        }
    std::array<xsimd::batch<T, A>, K> r;
    for (std::size_t q = 0; q < K; ++q)
        r[q] = xsimd::batch<T, A>::load_aligned(out + q * W);
    return r;
}

} // namespace detail

template <std::size_t K, class T, class A>
MASO_ALWAYS_INLINE std::array<xsimd::batch<T, A>, K>
deinterleave(const std::array<xsimd::batch<T, A>, K>& v) noexcept {
    using batch = xsimd::batch<T, A>;
    if constexpr (K == 1) return v;
#if defined(__AVX512F__)
    if constexpr (K == 2 && detail::is_avx512<A> && std::is_same_v<T, float>) {
        const __m512i even =
            _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        const __m512i odd =
            _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
        return {batch(_mm512_permutex2var_ps(v[0], even, v[1])),
                batch(_mm512_permutex2var_ps(v[0], odd, v[1]))};
    }
    if constexpr (K == 2 && detail::is_avx512<A> && std::is_same_v<T, double>) {
        const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
        const __m512i odd = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
        return {batch(_mm512_permutex2var_pd(v[0], even, v[1])),
                batch(_mm512_permutex2var_pd(v[0], odd, v[1]))};
    }
#endif
#if defined(__AVX2__)
    if constexpr (K == 2 && detail::is_avx2<A> && std::is_same_v<T, float>) {
        // Within each 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; then the 64-bit pairs
        // in the order 0, 2, 1, 3.
        const __m256 e = _mm256_shuffle_ps(v[0], v[1], 0x88),
                     o = _mm256_shuffle_ps(v[0], v[1], 0xdd);
        return {batch(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8))),
                batch(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8)))};
    }
    if constexpr (K == 2 && detail::is_avx2<A> && std::is_same_v<T, double>) {
        return {batch(_mm256_permute4x64_pd(_mm256_unpacklo_pd(v[0], v[1]), 0xd8)),
                batch(_mm256_permute4x64_pd(_mm256_unpackhi_pd(v[0], v[1]), 0xd8))};
    }
#endif
#if defined(__SSE2__)
    if constexpr (K == 2 && detail::is_sse2<A> && std::is_same_v<T, float>) {
        return {batch(_mm_shuffle_ps(v[0], v[1], 0x88)), batch(_mm_shuffle_ps(v[0], v[1], 0xdd))};
    }
    if constexpr (K == 2 && detail::is_sse2<A> && std::is_same_v<T, double>) {
        return {batch(_mm_unpacklo_pd(v[0], v[1])), batch(_mm_unpackhi_pd(v[0], v[1]))};
    }
#endif
    // K ≠ 2, or an arch without a case above (the branches above return first).
    return detail::interleave_in_memory<K, true>(v);
}

template <std::size_t K, class T, class A>
MASO_ALWAYS_INLINE std::array<xsimd::batch<T, A>, K>
interleave(const std::array<xsimd::batch<T, A>, K>& m) noexcept {
    using batch = xsimd::batch<T, A>;
    if constexpr (K == 1) return m;
#if defined(__AVX512F__)
    if constexpr (K == 2 && detail::is_avx512<A> && std::is_same_v<T, float>) {
        const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        const __m512i hi =
            _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
        return {batch(_mm512_permutex2var_ps(m[0], lo, m[1])),
                batch(_mm512_permutex2var_ps(m[0], hi, m[1]))};
    }
    if constexpr (K == 2 && detail::is_avx512<A> && std::is_same_v<T, double>) {
        const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
        const __m512i hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
        return {batch(_mm512_permutex2var_pd(m[0], lo, m[1])),
                batch(_mm512_permutex2var_pd(m[0], hi, m[1]))};
    }
#endif
#if defined(__AVX2__)
    if constexpr (K == 2 && detail::is_avx2<A> && std::is_same_v<T, float>) {
        // The 64-bit pairs in the order 0, 2, 1, 3 first, so that the in-lane unpacks
        // take members 0–3 into the low batch and 4–7 into the high one.
        const __m256 e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m[0]), 0xd8));
        const __m256 o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m[1]), 0xd8));
        return {batch(_mm256_unpacklo_ps(e, o)), batch(_mm256_unpackhi_ps(e, o))};
    }
    if constexpr (K == 2 && detail::is_avx2<A> && std::is_same_v<T, double>) {
        const __m256d e = _mm256_permute4x64_pd(m[0], 0xd8), o = _mm256_permute4x64_pd(m[1], 0xd8);
        return {batch(_mm256_unpacklo_pd(e, o)), batch(_mm256_unpackhi_pd(e, o))};
    }
#endif
#if defined(__SSE2__)
    if constexpr (K == 2 && detail::is_sse2<A> && std::is_same_v<T, float>) {
        return {batch(_mm_unpacklo_ps(m[0], m[1])), batch(_mm_unpackhi_ps(m[0], m[1]))};
    }
    if constexpr (K == 2 && detail::is_sse2<A> && std::is_same_v<T, double>) {
        return {batch(_mm_unpacklo_pd(m[0], m[1])), batch(_mm_unpackhi_pd(m[0], m[1]))};
    }
#endif
    return detail::interleave_in_memory<K, false>(m);
}

} // namespace maso::simd
