// bench/beta_vq_bench.cpp — the elementwise β-VQ pass (ReLU, learnable β = 0.9: swish
// with η = 9) against the references PERFORMANCE.md measures it by.
//
// Absolute speed on the shared machines drifts by up to 2× within an hour, so the
// targets are ratios taken inside one run: ≥ 8× a plain scalar std::exp loop in
// cache, ≥ 80% of copy bandwidth at 16 Mi floats, forward and forward+backward.
// The references are registered next to the passes they judge, size by size, so
// the two sides of each ratio run seconds apart. bench/ratios.py prints the ratios
// from this binary's JSON output.
#include "support/bench_main.hpp"
#include "support/fma_peak.hpp"
#include <maso/maso.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;

constexpr float beta_value = 0.9f;
constexpr std::array<std::int64_t, 3> sizes{4096, 262144, 16777216};

struct input_arrays {
    std::vector<float> z, dy;
};

/// Deterministic inputs in [−4, 4], where swish is neither linear nor saturated.
/// Cached per size: filling 16 Mi floats with mt19937 costs more than the passes
/// timed, and would otherwise run once per benchmark and repetition.
const input_arrays& inputs(std::size_t n) {
    static std::map<std::size_t, input_arrays> cache;
    auto [it, fresh] = cache.try_emplace(n);
    if (fresh) {
        std::mt19937 gen(20240611u);
        std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
        it->second.z.resize(n);
        it->second.dy.resize(n);
        for (auto& v : it->second.z)
            v = dist(gen);
        for (auto& v : it->second.dy)
            v = dist(gen);
    }
    return it->second;
}

/// items = elements; bytes = every array element read or written once.
void set_rates(benchmark::State& state, std::size_t n, std::size_t arrays) {
    const auto elements =
        static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n);
    state.SetItemsProcessed(elements);
    state.SetBytesProcessed(elements * static_cast<std::int64_t>(arrays * sizeof(float)));
}

// ---- references -----------------------------------------------------------------------

void copy_reference(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& in = inputs(n).z;
    std::vector<float> out(n); // value-initialised: page faults stay out of the timing
    benchmark::DoNotOptimize(out.data());
    for (auto _ : state) {
        std::copy(in.begin(), in.end(), out.begin());
        benchmark::ClobberMemory();
    }
    set_rates(state, n, 2);
}

// noinline keeps the compiler from specialising the loop on the benchmark's
// constants; it is the baseline "plain std::exp loop" of the 8× promise.
[[gnu::noinline]] void scalar_swish(const float* z, float* y, std::size_t n, float eta) {
    for (std::size_t i = 0; i < n; ++i)
        y[i] = z[i] / (1.0f + std::exp(-eta * z[i]));
}

void scalar_exp_loop(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& in = inputs(n);
    std::vector<float> y(n);
    float eta = maso::vq::beta::from_beta(beta_value).eta();
    benchmark::DoNotOptimize(eta);
    benchmark::DoNotOptimize(y.data());
    for (auto _ : state) {
        scalar_swish(in.z.data(), y.data(), n, eta);
        benchmark::ClobberMemory();
    }
    set_rates(state, n, 2);
}

/// The in-run FMA peak (bench/support/fma_peak.hpp).
void fma_peak(benchmark::State& state) {
    const double flop = maso_bench::fma_peak_loop<xsimd::batch<float, native_arch>>(
        state, [](auto a, auto b, auto c) { return xsimd::fma(a, b, c); });
    state.counters["FLOP/s"] = benchmark::Counter(flop * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

// ---- maso ---------------------------------------------------------------------------------

template <class Arch>
void beta_vq_forward(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::span<const float> z(inputs(n).z);
    std::vector<float> y(n);
    const auto b = maso::vq::beta::from_beta(beta_value);
    benchmark::DoNotOptimize(y.data());
    for (auto _ : state) {
        maso::vq::beta_vq_forward(Arch{}, maso::vq::relu{}, b, z, std::span<float>(y));
        benchmark::ClobberMemory();
    }
    set_rates(state, n, 2);
}

/// Forward, then backward with the dθ reduction: what one training step asks of
/// the unit. Reads z, writes y; reads z and dy, writes dz: five arrays.
template <class Arch>
void beta_vq_forward_backward(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& in = inputs(n);
    const std::span<const float> z(in.z), dy(in.dy);
    std::vector<float> y(n), dz(n);
    const auto b = maso::vq::beta::from_beta(beta_value);
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dz.data());
    for (auto _ : state) {
        maso::vq::beta_vq_forward(Arch{}, maso::vq::relu{}, b, z, std::span<float>(y));
        float dtheta =
            maso::vq::beta_vq_backward(Arch{}, maso::vq::relu{}, b, z, dy, std::span<float>(dz));
        benchmark::DoNotOptimize(dtheta);
        benchmark::ClobberMemory();
    }
    set_rates(state, n, 5);
}

void register_all() {
    // No MinTime: a smaller one would leave the 16 Mi runs at one or two iterations,
    // and the default 0.5 s keeps a whole run near 20 s (50 s with 3 repetitions).
    benchmark::RegisterBenchmark("fma_peak", fma_peak);
    for (const std::int64_t n : sizes) {
        benchmark::RegisterBenchmark("copy", copy_reference)->Arg(n);
        benchmark::RegisterBenchmark("scalar_exp_loop", scalar_exp_loop)->Arg(n);
        benchmark::RegisterBenchmark("beta_vq_forward", beta_vq_forward<native_arch>)->Arg(n);
        benchmark::RegisterBenchmark("beta_vq_forward_backward",
                                     beta_vq_forward_backward<native_arch>)
            ->Arg(n);
        benchmark::RegisterBenchmark("beta_vq_forward_scalar",
                                     beta_vq_forward<maso::simd::scalar_arch>)
            ->Arg(n);
        benchmark::RegisterBenchmark("beta_vq_forward_backward_scalar",
                                     beta_vq_forward_backward<maso::simd::scalar_arch>)
            ->Arg(n);
    }
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "1");
    benchmark::AddCustomContext("maso_beta", "0.9 (relu: swish with eta = 9)");
    register_all();
    return maso_bench::run(argc, argv);
}
