// bench/gemm_bench.cpp — the packed GEMM (kernels/gemm.hpp) against the in-run FMA
// peak, on one thread, in float: square products of 256, 512 and 1024.
//
// PERFORMANCE.md's target is ≥ 85% of the peak measured by this same binary. The
// references are registered size by size next to the products they judge:
//   fma_peak    independent FMA chains on xsimd batches: what one core can do;
//   gemm_plain  the plain loops kernels/gemm.hpp had before packing (C row += a·B
//               row, vectorised along N, nothing blocked): the speedup of the work.
// gemm_nt and gemm_tn (the two backward products) are measured too: the same
// micro-kernel behind a transposing pack of B (nt) or an interleaving pack of A (tn).
// bench/gemm_ratios.py prints the percentages from this binary's JSON output:
//
//   gemm_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//              --benchmark_format=json --benchmark_out=gemm.json
//   python3 bench/gemm_ratios.py gemm.json
#include "support/bench_main.hpp"
#include "support/fma_peak.hpp"
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;
using batch = xsimd::batch<float, native_arch>;

constexpr std::array<std::int64_t, 3> sizes{256, 512, 1024};

/// Deterministic inputs in [−1, 1], one set per size, made once.
struct operands {
    std::vector<float> a, b;
};
const operands& inputs(std::size_t n) {
    static std::map<std::size_t, operands> cache;
    auto [it, fresh] = cache.try_emplace(n);
    if (fresh) {
        std::mt19937 gen(20240611u);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        it->second.a.resize(n * n);
        it->second.b.resize(n * n);
        for (auto& v : it->second.a)
            v = dist(gen);
        for (auto& v : it->second.b)
            v = dist(gen);
    }
    return it->second;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
    // Rates are per CPU second (Google Benchmark's default), which is what the
    // peak is measured in too: time the scheduler gives other tenants counts in
    // neither.
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops_per_iteration * 1e-9 * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate);
}

// ---- references -----------------------------------------------------------------------

/// The in-run FMA peak (bench/support/fma_peak.hpp), with the GEMM's own fused
/// multiply-add (xsimd 8.1's AVX-512 fma is two instructions under clang).
void fma_peak(benchmark::State& state) {
    set_flops(state, maso_bench::fma_peak_loop<batch>(state, [](auto a, auto b, auto c) {
                  return maso::simd::fmadd(a, b, c);
              }));
}

/// kernels/gemm.hpp's gemm_nn before packing, the same loops at the native arch, as
/// the baseline: row i of C += A[i][k] · row k of B, for every k.
void axpy(std::size_t n, float a, const float* x, float* y) {
    constexpr std::size_t W = batch::size;
    const batch av(a);
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        xsimd::fma(av, batch::load_unaligned(x + j), batch::load_unaligned(y + j))
            .store_unaligned(y + j);
    for (; j < n; ++j)
        y[j] += a * x[j];
}

[[gnu::noinline]] void plain_gemm_nn(std::size_t M, std::size_t N, std::size_t K, const float* A,
                                     const float* B, float* C, bool accumulate) {
    for (std::size_t i = 0; i < M; ++i) {
        float* c = C + i * N;
        if (!accumulate)
            for (std::size_t j = 0; j < N; ++j)
                c[j] = 0.0f;
        for (std::size_t k = 0; k < K; ++k)
            axpy(N, A[i * K + k], B + k * N, c);
    }
}

// ---- the products ---------------------------------------------------------------------

enum class product { plain, nn, nt, tn };

template <product P>
void gemm(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& in = inputs(n);
    std::vector<float> c(n * n); // value-initialised: page faults stay out of the timing
    benchmark::DoNotOptimize(c.data());
    // Square, so the same arrays serve every layout: nt reads b as Bᵀ, tn reads a as Aᵀ.
    for (auto _ : state) {
        if constexpr (P == product::plain)
            plain_gemm_nn(n, n, n, in.a.data(), in.b.data(), c.data(), false);
        else if constexpr (P == product::nn)
            maso::kernels::gemm_nn<native_arch>(n, n, n, in.a.data(), in.b.data(), c.data(), false);
        else if constexpr (P == product::nt)
            maso::kernels::gemm_nt<native_arch>(n, n, n, in.a.data(), in.b.data(), c.data(), false);
        else
            maso::kernels::gemm_tn<native_arch>(n, n, n, in.a.data(), in.b.data(), c.data(), false);
        benchmark::ClobberMemory();
    }
    const double nd = static_cast<double>(n);
    set_flops(state, 2.0 * nd * nd * nd);
}

void register_all() {
    // The peak is registered once per size (the argument only names it), so that
    // each size's ratio uses a peak measured seconds from it.
    for (const std::int64_t n : sizes) {
        benchmark::RegisterBenchmark("fma_peak", fma_peak)->Arg(n);
        benchmark::RegisterBenchmark("gemm_plain", gemm<product::plain>)->Arg(n);
        benchmark::RegisterBenchmark("gemm_nn", gemm<product::nn>)->Arg(n);
        benchmark::RegisterBenchmark("gemm_nt", gemm<product::nt>)->Arg(n);
        benchmark::RegisterBenchmark("gemm_tn", gemm<product::tn>)->Arg(n);
    }
}

} // namespace

int main(int argc, char** argv) {
    using blocking = maso::kernels::gemm_blocking<native_arch, float>;
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    // One thread: these figures are per CPU second of the calling thread, which a
    // second pool thread's work would escape (conv_block_bench and train_step_bench
    // time 2 threads by wall clock).
    maso::set_num_threads(1);
    benchmark::AddCustomContext("maso_threads", "1");
    benchmark::AddCustomContext("maso_gemm_blocking", "MR " + std::to_string(blocking::MR) +
                                                          " x NR " + std::to_string(blocking::NR) +
                                                          ", KC " + std::to_string(blocking::KC) +
                                                          ", NC " + std::to_string(blocking::NC));
    register_all();
    return maso_bench::run(argc, argv);
}
