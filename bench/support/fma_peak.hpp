// bench/support/fma_peak.hpp — the in-run FMA peak every benchmark binary measures.
//
// Twelve independent accumulators cover FMA latency × ports of current x86 cores
// (4 × 2 on Intel, 4 × 1 for 512-bit FMAs on Zen 4, 4 × 2 on Zen 5) with room to
// spare, so the loop is bound by FMA throughput alone: the peak that compute-bound
// ratios refer to. acc ← acc·m + c converges to c/(1−m) = 1 (no overflow, no
// denormals), and the opaque m and c keep the compiler from folding the chain.
// fma_peak_rounds is one iteration, so that a benchmark can run the same loop on
// several threads.
//
// The multiply-add is fused_multiply_add: one vfmadd instruction of the batch's width
// under g++ and clang++ alike. xsimd 8.1's xsimd::fma on AVX-512 is the generic
// x·y + z, which g++ contracts into an FMA (-ffp-contract=fast) but clang++ does not:
// a peak measured with it under clang++ is a multiply and an add, half the FLOP/s on a
// core with as many FMA as add pipes, and every "% of peak" divided by it flatters.
#pragma once

#include <maso/simd/batch_ops.hpp> // xsimd, with GCC 12's PR105593 warnings off

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace maso_bench {

/// a·b + c with one rounding, as one FMA instruction where the build's ISA has one.
template <class Arch>
[[gnu::always_inline]] inline xsimd::batch<float, Arch>
fused_multiply_add(xsimd::batch<float, Arch> a, xsimd::batch<float, Arch> b,
                   xsimd::batch<float, Arch> c) noexcept {
    [[maybe_unused]] constexpr std::size_t bytes = sizeof(float) * xsimd::batch<float, Arch>::size;
#if defined(__AVX512F__)
    if constexpr (bytes == 64) return _mm512_fmadd_ps(a, b, c);
#endif
#if defined(__FMA__)
    if constexpr (bytes == 32) return _mm256_fmadd_ps(a, b, c);
    if constexpr (bytes == 16) return _mm_fmadd_ps(a, b, c);
#endif
    return xsimd::fma(a, b, c); // no FMA in this ISA (SSE2, AVX): a multiply and an add
}

inline constexpr std::size_t fma_peak_accumulators = 12;
inline constexpr std::int64_t fma_peak_round_count = 4096;

/// FLOP of one fma_peak_rounds call on Batch.
template <class Batch>
constexpr double fma_peak_flop() {
    return 2.0 * Batch::size * fma_peak_accumulators * static_cast<double>(fma_peak_round_count);
}

/// One iteration of the peak loop: 4096 rounds of 12 independent
/// `acc ← fma(acc, m, c)` on Batch.
/// m and c must be opaque to the compiler (benchmark::DoNotOptimize them once).
template <class Batch, class Fma>
inline void fma_peak_rounds(float m, float c, Fma fma) {
    constexpr std::size_t accumulators = fma_peak_accumulators;
    constexpr std::int64_t rounds = fma_peak_round_count;
    const Batch bm(m), bc(c);
    std::array<Batch, accumulators> acc;
    for (std::size_t k = 0; k < accumulators; ++k)
        acc[k] = Batch(static_cast<float>(k));
    for (std::int64_t r = 0; r < rounds; ++r)
        for (std::size_t k = 0; k < accumulators; ++k)
            acc[k] = fma(acc[k], bm, bc);
    for (auto& a : acc)
        benchmark::DoNotOptimize(a);
}

/// fused_multiply_add on Batch, for fma_peak_rounds and fma_peak_loop.
struct true_fma {
    template <class Batch>
    [[gnu::always_inline]] Batch operator()(Batch a, Batch b, Batch c) const noexcept {
        return fused_multiply_add(a, b, c);
    }
};

/// Runs the peak loop with `fma(a, b, c)` on Batch; returns the FLOP of one iteration.
template <class Batch, class Fma = true_fma>
double fma_peak_loop(benchmark::State& state, Fma fma = {}) {
    float m = 0.9999999f, c = 1e-7f;
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(c);
    for (auto _ : state)
        fma_peak_rounds<Batch>(m, c, fma);
    return fma_peak_flop<Batch>();
}

} // namespace maso_bench
