// maso/simd/lane_gather.hpp — a batch gathered from W fixed offsets, shifted per call: lane l
// is base[offset[l] + at] for the first `live` lanes and 0 past them.
//
// The convolution's weight-gradient packer (kernels/conv/patch_columns.hpp) reads, for one
// column, the entries of NR consecutive taps: the taps' offsets are fixed per panel and the
// column shifts them all. The offsets and the live lanes are set up once (the constructor),
// the gathers then cost one add and one gather instruction on AVX-512 float; other archs and
// types gather one lane at a time.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <cstddef>
#include <cstdint>

namespace maso::simd {

template <class T, class A>
struct lane_gather {
    static constexpr std::size_t W = xsimd::batch<T, A>::size;
    const std::int32_t* offsets; ///< W of them, read at each call
    std::size_t live;

    lane_gather(const std::int32_t* o, std::size_t live_lanes) noexcept
        : offsets(o), live(live_lanes) {}
    MASO_ALWAYS_INLINE xsimd::batch<T, A> operator()(const T* base,
                                                     std::int32_t at) const noexcept {
        alignas(64) T v[W] = {};
        for (std::size_t l = 0; l < live; ++l)
            v[l] = base[offsets[l] + at];
        return xsimd::batch<T, A>::load_aligned(v);
    }
};

#if defined(__AVX512F__)
template <class A>
requires detail::is_avx512<A>
struct lane_gather<float, A> {
    __m512i index;
    __mmask16 lanes;

    lane_gather(const std::int32_t* o, std::size_t live) noexcept
        : index(_mm512_loadu_si512(o)), lanes(__mmask16(live >= 16 ? 0xffffu : (1u << live) - 1)) {}
    MASO_ALWAYS_INLINE xsimd::batch<float, A> operator()(const float* base,
                                                         std::int32_t at) const noexcept {
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes,
                                        _mm512_add_epi32(index, _mm512_set1_epi32(at)), base, 4);
    }
};
#endif

} // namespace maso::simd
