// bench/support/bench_main.hpp — the end of every benchmark binary's main().
//
// A binary adds its own context (ISA, threads, sizes), sets its thread count and registers its
// benchmarks, then returns maso_bench::run(argc, argv), which adds the compiler to the context
// and runs Google Benchmark with the command line.
#pragma once

#include <benchmark/benchmark.h>

namespace maso_bench {

/// Adds the "compiler" context, then runs the benchmarks the command line selects.
/// Returns main()'s exit code: 1 on an unrecognised argument, else 0.
inline int run(int argc, char** argv) {
#if defined(__clang__)
    benchmark::AddCustomContext("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
    benchmark::AddCustomContext("compiler", "g++ " __VERSION__);
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // namespace maso_bench
