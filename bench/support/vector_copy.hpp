// bench/support/vector_copy.hpp — the bandwidth reference: a vectorised copy, with ordinary or
// with streaming (non-temporal) stores.
//
// A pass over memory is judged by its bytes per second against a copy of the same bytes, so
// the copy must be the fastest way to move them, or the ratio flatters the pass. std::copy is
// not: glibc's memmove, on the Zen 4 and Zen 5 guests measured here, moved 16 Mi floats 1.3×
// slower than maso's β-VQ pass streamed the same two arrays (docs/performance.md (a)). This is
// the loop any pass is built from — four batches of the build's widest registers per step, no
// call, nothing but loads and stores — in two forms:
//
//   ordinary stores   the destination's lines are read into the cache first (the store's
//                     read-for-ownership), then written back: best while the arrays stay in
//                     the caches;
//   streaming stores  non-temporal: written straight to memory without the read and without
//                     evicting anything, then an sfence: best for arrays larger than the last
//                     cache level, where ordinary stores cost a third stream of traffic.
//
// The benchmarks register both ("copy" and "copy_stream") and the ratio scripts take the faster
// one as the reference, at each size and thread count.
#pragma once

#include <maso/simd/batch_ops.hpp> // xsimd, with GCC 12's PR105593 warnings off

#include <cstddef>
#include <cstdint>

namespace maso_bench {

/// out[i] = in[i] for i < n, W floats at a time, with streaming stores if `stream`.
template <class Arch>
void vector_copy(const float* in, float* out, std::size_t n, bool stream) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t W = batch::size, step = 4 * W;
    std::size_t i = 0;
    if (stream) {
        // Streaming stores need an aligned destination: the head up to it one by one.
        constexpr std::uintptr_t align = sizeof(float) * W;
        while (i < n && reinterpret_cast<std::uintptr_t>(out + i) % align != 0) {
            out[i] = in[i];
            ++i;
        }
        for (; i + step <= n; i += step)
            for (std::size_t k = 0; k < step; k += W) {
                const batch v = batch::load_unaligned(in + i + k);
#if defined(__AVX512F__)
                if constexpr (W * sizeof(float) == 64) _mm512_stream_ps(out + i + k, v);
#endif
#if defined(__AVX__)
                if constexpr (W * sizeof(float) == 32) _mm256_stream_ps(out + i + k, v);
#endif
                if constexpr (W * sizeof(float) == 16) _mm_stream_ps(out + i + k, v);
            }
        _mm_sfence(); // the streaming stores are weakly ordered: done before anyone reads
    } else {
        for (; i + step <= n; i += step)
            for (std::size_t k = 0; k < step; k += W)
                batch::load_unaligned(in + i + k).store_unaligned(out + i + k);
    }
    for (; i < n; ++i)
        out[i] = in[i];
}

} // namespace maso_bench
