// bench/support/fma_peak.hpp — the in-run FMA peak every benchmark binary measures.
//
// Twelve independent accumulators cover FMA latency × ports of current x86 cores
// (4 × 2 on Intel, 4 × 1 for 512-bit FMAs on Zen 4) with room to spare, so the
// loop is bound by FMA throughput alone: the peak that compute-bound ratios refer
// to. acc ← acc·m + c converges to c/(1−m) = 1 (no overflow, no denormals), and
// the opaque m and c keep the compiler from folding the chain.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace maso_bench {

/// Runs the peak loop with `fma(a, b, c)` on Batch; returns the FLOP of one iteration.
template <class Batch, class Fma>
double fma_peak_loop(benchmark::State& state, Fma fma) {
    constexpr std::size_t accumulators = 12;
    constexpr std::int64_t rounds = 4096;
    float m = 0.9999999f, c = 1e-7f;
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(c);
    for (auto _ : state) {
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
    return 2.0 * Batch::size * accumulators * static_cast<double>(rounds);
}

} // namespace maso_bench
