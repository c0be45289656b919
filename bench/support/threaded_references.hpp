// bench/support/threaded_references.hpp — the in-run references at 1 and 2 threads.
//
// The FMA peak (fma_peak.hpp) and the vectorised copy (vector_copy.hpp), registered as
// "fma_peak/threads_<n>", "copy/threads_<n>" (ordinary stores) and "copy_stream/threads_<n>"
// (streaming stores; the ratio scripts take the faster copy) for the benchmarks that run
// maso's kernels on the thread pool
// (conv_block_bench, train_step_bench). At 1 thread the peak is fma_peak_loop itself, timed
// in CPU time like every single-threaded case. At n > 1 threads each iteration runs the same
// loop on every pool thread through parallel_for — the path the kernels take — and is timed
// in wall-clock time (UseRealTime): the process's CPU time would add the workers' time to
// the caller's and a rate per CPU second would not be a rate at all. Each thread runs
// `pool_peak_repeats` iterations of the loop per hand-off (≈ 0.5 ms at 170 GFLOP/s), so the
// pool's wake-up of a few microseconds is well below the noise.
#pragma once

#include "fma_peak.hpp"
#include "vector_copy.hpp"

#include <maso/core/thread_pool.hpp>
#include <maso/simd/batch_ops.hpp> // xsimd, included with GCC 12's PR105593 warnings off

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace maso_bench {

inline constexpr int pool_peak_repeats = 64;

/// "threads_1": the suffix every threaded case and reference carries.
inline std::string threads_suffix(std::size_t threads) {
    return "threads_" + std::to_string(threads);
}

/// Sets maso's thread count; a failure (a count the pool refuses) skips the case.
inline bool use_threads(benchmark::State& state, std::size_t threads) {
    try {
        maso::set_num_threads(threads);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return false;
    }
    return true;
}

/// The FMA peak on `threads` pool threads; FLOP/s counter, and "threads".
template <class Arch>
void fma_peak_threads(benchmark::State& state, std::size_t threads) {
    using batch = xsimd::batch<float, Arch>;
    const true_fma fma;
    double flop = 0;
    if (threads == 1) {
        flop = fma_peak_loop<batch>(state, fma);
    } else {
        if (!use_threads(state, threads)) return;
        float m = 0.9999999f, c = 1e-7f;
        benchmark::DoNotOptimize(m);
        benchmark::DoNotOptimize(c);
        for (auto _ : state) {
            maso::parallel_for(threads, [&](std::size_t begin, std::size_t end, std::size_t) {
                for (std::size_t t = begin; t < end; ++t)
                    for (int r = 0; r < pool_peak_repeats; ++r)
                        fma_peak_rounds<batch>(m, c, fma);
            });
        }
        flop = fma_peak_flop<batch>() * pool_peak_repeats * static_cast<double>(threads);
    }
    state.counters["FLOP/s"] = benchmark::Counter(flop * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
    state.counters["pool_threads"] = static_cast<double>(threads);
}

/// vector_copy of `floats` floats, split into `threads` contiguous parts on the pool as
/// maso's passes split their channels; bytes/s counts the bytes read and written.
template <class Arch>
void copy_threads(benchmark::State& state, std::size_t threads, std::size_t floats, bool stream) {
    if (!use_threads(state, threads)) return;
    std::vector<float> in(floats, 1.f), out(floats); // touched: no page faults in the timing
    benchmark::DoNotOptimize(in.data());
    benchmark::DoNotOptimize(out.data());
    for (auto _ : state) {
        maso::parallel_for(threads, [&](std::size_t begin, std::size_t end, std::size_t) {
            const std::size_t from = floats * begin / threads, to = floats * end / threads;
            vector_copy<Arch>(in.data() + from, out.data() + from, to - from, stream);
        });
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(2 * floats * sizeof(float)));
    state.counters["pool_threads"] = static_cast<double>(threads);
}

/// Registers "fma_peak/threads_<n>" (and, if copy_floats > 0, "copy/threads_<n>" and
/// "copy_stream/threads_<n>"); wall-clock time for n > 1.
template <class Arch>
void register_references(std::size_t threads, std::size_t copy_floats = 0) {
    auto* peak = benchmark::RegisterBenchmark(
        ("fma_peak/" + threads_suffix(threads)).c_str(),
        [threads](benchmark::State& s) { fma_peak_threads<Arch>(s, threads); });
    if (threads > 1) peak->UseRealTime();
    if (copy_floats == 0) return;
    for (const bool stream : {false, true}) {
        auto* copy = benchmark::RegisterBenchmark(
            ((stream ? "copy_stream/" : "copy/") + threads_suffix(threads)).c_str(),
            [threads, copy_floats, stream](benchmark::State& s) {
                copy_threads<Arch>(s, threads, copy_floats, stream);
            });
        if (threads > 1) copy->UseRealTime();
    }
}

} // namespace maso_bench
