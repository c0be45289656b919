// maso/simd/transpose.hpp — W batches of W lanes transposed in registers: afterwards lane j
// of r[i] is what lane i of r[j] was.
//
// The convolution's weight-gradient packer (kernels/conv/patch_columns.hpp) loads 16 runs of
// the input, one a tap, and needs them as 16 panel rows, one a column. AVX-512 float (16 × 16)
// takes three stages: 2×2 blocks of pairs (unpack ps), 4×4 blocks (unpack pd), then the
// 128-bit blocks across rows in two shuffles. Other archs and types go through an aligned
// buffer: correct everywhere, a store and W² scalar moves.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <array>
#include <cstddef>

namespace maso::simd {

template <class T, class A>
MASO_ALWAYS_INLINE void
transpose(std::array<xsimd::batch<T, A>, xsimd::batch<T, A>::size>& r) noexcept {
    using batch = xsimd::batch<T, A>;
    constexpr std::size_t W = batch::size;
#if defined(__AVX512F__)
    if constexpr (detail::is_avx512<A> && std::is_same_v<T, float>) {
        __m512 t[16];
        for (std::size_t i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // After this stage u[4g + s] holds in its block q column 4q + s of rows 4g … 4g + 3.
        __m512 u[16];
        for (std::size_t g = 0; g < 4; ++g) {
            const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
            const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
            u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
            u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
            u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
            u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
        }
        for (std::size_t s = 0; s < 4; ++s) {
            const __m512 p0 = _mm512_shuffle_f32x4(u[s], u[4 + s], 0x44);
            const __m512 p1 = _mm512_shuffle_f32x4(u[s], u[4 + s], 0xee);
            const __m512 q0 = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0x44);
            const __m512 q1 = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0xee);
            r[s] = _mm512_shuffle_f32x4(p0, q0, 0x88);
            r[4 + s] = _mm512_shuffle_f32x4(p0, q0, 0xdd);
            r[8 + s] = _mm512_shuffle_f32x4(p1, q1, 0x88);
            r[12 + s] = _mm512_shuffle_f32x4(p1, q1, 0xdd);
        }
        return;
    }
#endif
    alignas(64) T m[W * W];
    for (std::size_t i = 0; i < W; ++i)
        r[i].store_aligned(m + i * W);
    for (std::size_t i = 0; i < W; ++i) {
        alignas(64) T row[W];
        for (std::size_t j = 0; j < W; ++j)
            row[j] = m[j * W + i];
        r[i] = batch::load_aligned(row);
    }
}

} // namespace maso::simd
