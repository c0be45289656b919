// bench/support/fma_peak.hpp — the in-run FMA peak every benchmark binary measures.
//
// Twelve independent accumulators cover FMA latency × ports of current x86 cores
// (4 × 2 on Intel, 4 × 1 for 512-bit FMAs on Zen 4) with room to spare, so the
// loop is bound by FMA throughput alone: the peak that compute-bound ratios refer
// to. acc ← acc·m + c converges to c/(1−m) = 1 (no overflow, no denormals), and
// the opaque m and c keep the compiler from folding the chain. fma_peak_rounds is
// one iteration, so that a benchmark can run the same loop on several threads.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace maso_bench {

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

/// Runs the peak loop with `fma(a, b, c)` on Batch; returns the FLOP of one iteration.
template <class Batch, class Fma>
double fma_peak_loop(benchmark::State& state, Fma fma) {
    float m = 0.9999999f, c = 1e-7f;
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(c);
    for (auto _ : state)
        fma_peak_rounds<Batch>(m, c, fma);
    return fma_peak_flop<Batch>();
}

} // namespace maso_bench
