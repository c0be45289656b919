// maso/simd/strided.hpp — moves between a strided run of values and a contiguous one, the
// inner moves of a convolution's packers (kernels/conv/):
//
//   copy_strided(arch, src, stride, dst, ds, n)   dst[i·ds] = src[i·stride], i < n
//   add_strided(arch, src, dst, stride, n)        dst[i·stride] += src[i], i < n (its adjoint)
//   load_even(arch, p)                            a batch of p[0], p[2], …, p[2W − 2], reading
//                                                 p[0, 2W − 1) only
//   add_three_taps(arch, t0, t1, t2, dst, n)      dst[2j] += t0[j] + t2[j − 1], dst[2j + 1] +=
//                                                 t1[j], j < n, and dst[2n] += t2[n − 1]
//
// The generic forms move whole batches where both sides are contiguous and the rest one value
// at a time. AVX-512 float has its own forms for strides 1 and 2 into or out of a contiguous
// run, with masked loads and stores: a window-order run is at most 16 values at stride 2
// (every other input column), too short for a whole-batch loop, and a masked load never
// touches what it leaves out, so nothing past the run's last value is read or written. The
// arch is a tag (xsimd::avx512bw{}, …): overload resolution picks the form.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <cstddef>

namespace maso::simd {

namespace detail {
template <class Arch, class T>
MASO_ALWAYS_INLINE void copy_strided_any(const T* src, std::size_t stride, T* dst, std::size_t ds,
                                         std::size_t n) noexcept {
    std::size_t i = 0;
    if (stride == 1 && ds == 1) {
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size;
        for (; i + W <= n; i += W)
            batch::load_unaligned(src + i).store_unaligned(dst + i);
    }
    for (; i < n; ++i)
        dst[i * ds] = src[i * stride];
}
template <class T>
MASO_ALWAYS_INLINE void add_strided_any(const T* src, T* dst, std::size_t stride,
                                        std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        dst[i * stride] += src[i];
}
template <class T>
MASO_ALWAYS_INLINE void add_three_taps_any(const T* t0, const T* t1, const T* t2, T* dst,
                                           std::size_t n) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        dst[2 * j] += j == 0 ? t0[0] : t0[j] + t2[j - 1];
        dst[2 * j + 1] += t1[j];
    }
    if (n > 0) dst[2 * n] += t2[n - 1];
}

} // namespace detail

/// dst[i·ds] = src[i·stride], i < n.
template <class Arch, class T>
MASO_ALWAYS_INLINE void copy_strided(Arch, const T* src, std::size_t stride, T* dst, std::size_t ds,
                                     std::size_t n) noexcept {
    detail::copy_strided_any<Arch>(src, stride, dst, ds, n);
}

/// dst[i·stride] += src[i], i < n.
template <class Arch, class T>
MASO_ALWAYS_INLINE void add_strided(Arch, const T* src, T* dst, std::size_t stride,
                                    std::size_t n) noexcept {
    detail::add_strided_any(src, dst, stride, n);
}

/// dst[2j] += t0[j] + t2[j − 1] (t0[0] alone at j = 0), dst[2j + 1] += t1[j], j < n, and
/// dst[2n] += t2[n − 1]: the input gradient of taps kx = 0, 1, 2 of a 3-wide window at stride
/// 2 along one row, whose entries interleave, added in one read-modify-write of each entry of
/// dst instead of one pass per tap over every other entry.
template <class Arch, class T>
MASO_ALWAYS_INLINE void add_three_taps(Arch, const T* t0, const T* t1, const T* t2, T* dst,
                                       std::size_t n) noexcept {
    detail::add_three_taps_any(t0, t1, t2, dst, n);
}

/// Lane l = p[2l]: the even values of p[0, 2W − 1), the one after the last never read.
template <class Arch, class T>
MASO_ALWAYS_INLINE xsimd::batch<T, Arch> load_even(Arch, const T* p) noexcept {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    alignas(64) T v[W];
    for (std::size_t l = 0; l < W; ++l)
        v[l] = p[2 * l];
    return xsimd::batch<T, Arch>::load_aligned(v);
}

#if defined(__AVX512F__)
template <class Arch>
requires detail::is_avx512<Arch> MASO_ALWAYS_INLINE xsimd::batch<float, Arch>
load_even(Arch, const float* p)
noexcept {
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_maskz_loadu_ps(0x7fff, p + 16));
}

template <class Arch>
requires detail::is_avx512<Arch> MASO_ALWAYS_INLINE void copy_strided(Arch, const float* src,
                                                                      std::size_t stride,
                                                                      float* dst, std::size_t ds,
                                                                      std::size_t n) noexcept {
    if (ds != 1 || (stride != 1 && stride != 2)) {
        detail::copy_strided_any<Arch>(src, stride, dst, ds, n);
        return;
    }
    constexpr std::size_t W = 16;
    for (; n > 0; src += W * stride, dst += W) {
        const std::size_t m = std::min(n, W);
        const __mmask16 out = __mmask16((1u << m) - 1);
        __m512 v;
        if (stride == 1) {
            v = _mm512_maskz_loadu_ps(out, src);
        } else {
            // Values 0..m−1 read src[0, 2m−1): the low batch's first min(2m−1, 16) elements
            // and the rest from the high one; the even elements of the pair.
            const std::size_t span = 2 * m - 1;
            const __mmask16 lo = __mmask16(span >= W ? 0xffffu : (1u << span) - 1);
            const __mmask16 hi = __mmask16(span > W ? (1u << (span - W)) - 1 : 0);
            const __m512 a = _mm512_maskz_loadu_ps(lo, src);
            const __m512 b = _mm512_maskz_loadu_ps(hi, src + W);
            const __m512i even =
                _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
            v = _mm512_permutex2var_ps(a, even, b);
        }
        _mm512_mask_storeu_ps(dst, out, v);
        n -= m;
    }
}

/// At stride 2 the values are spread to the even lanes of two batches (the odd lanes add 0
/// and are masked off, so only the run's own elements are read and written).
template <class Arch>
requires detail::is_avx512<Arch> MASO_ALWAYS_INLINE void
add_strided(Arch, const float* src, float* d, std::size_t stride, std::size_t n) noexcept {
    if (stride != 1 && stride != 2) {
        detail::add_strided_any(src, d, stride, n);
        return;
    }
    constexpr std::size_t W = 16;
    for (; n > 0; src += W, d += W * stride) {
        const std::size_t m = std::min(n, W);
        const __mmask16 in = __mmask16((1u << m) - 1);
        const __m512 s = _mm512_maskz_loadu_ps(in, src);
        if (stride == 1) {
            _mm512_mask_storeu_ps(d, in, _mm512_add_ps(_mm512_maskz_loadu_ps(in, d), s));
        } else {
            const std::size_t span = 2 * m - 1;
            const __mmask16 lo = __mmask16(span >= W ? 0x5555u : ((1u << span) - 1) & 0x5555u);
            const __mmask16 hi = __mmask16(span > W ? ((1u << (span - W)) - 1) & 0x5555u : 0);
            const __m512i spread_lo =
                _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
            const __m512i spread_hi =
                _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
            const __m512 a = _mm512_maskz_permutexvar_ps(lo, spread_lo, s);
            const __m512 b = _mm512_maskz_permutexvar_ps(hi, spread_hi, s);
            _mm512_mask_storeu_ps(d, lo, _mm512_add_ps(_mm512_maskz_loadu_ps(lo, d), a));
            _mm512_mask_storeu_ps(d + W, hi, _mm512_add_ps(_mm512_maskz_loadu_ps(hi, d + W), b));
        }
        n -= m;
    }
}
/// W = 16 entries of each tap at a time: the evens (t0, plus t2 one lane on) and the odds
/// (t1) interleave into two batches, each added to dst with one masked read-modify-write;
/// the last even, t2[n − 1] alone, after.
template <class Arch>
requires detail::is_avx512<Arch> MASO_ALWAYS_INLINE void add_three_taps(Arch, const float* t0,
                                                                        const float* t1,
                                                                        const float* t2, float* d,
                                                                        std::size_t n) noexcept {
    constexpr std::size_t W = 16;
    const __m512i lo_index =
        _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi_index =
        _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    for (std::size_t j = 0; j < n; j += W) {
        const std::size_t m = std::min(n - j, W);
        const __mmask16 in = __mmask16((1u << m) - 1);
        // Lane l is t2[j + l − 1]; zero before the row's first entry.
        const __m512 shifted = j == 0 ? _mm512_maskz_expandloadu_ps(__mmask16(in & 0xfffeu), t2)
                                      : _mm512_maskz_loadu_ps(in, t2 + j - 1);
        const __m512 even = _mm512_add_ps(_mm512_maskz_loadu_ps(in, t0 + j), shifted);
        const __m512 odd = _mm512_maskz_loadu_ps(in, t1 + j);
        const __m512 lo = _mm512_permutex2var_ps(even, lo_index, odd);
        const __m512 hi = _mm512_permutex2var_ps(even, hi_index, odd);
        // Entries 2j … 2j + 2m − 1 of dst: the first 16 from lo, the rest from hi.
        const __mmask16 lo_out = __mmask16(m >= 8 ? 0xffffu : (1u << (2 * m)) - 1);
        const __mmask16 hi_out = __mmask16(m > 8 ? (1u << (2 * m - W)) - 1 : 0);
        float* const p = d + 2 * j;
        _mm512_mask_storeu_ps(p, lo_out, _mm512_add_ps(_mm512_maskz_loadu_ps(lo_out, p), lo));
        _mm512_mask_storeu_ps(p + W, hi_out,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(hi_out, p + W), hi));
    }
    if (n > 0) d[2 * n] += t2[n - 1];
}
#endif

} // namespace maso::simd
