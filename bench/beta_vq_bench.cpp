// bench/beta_vq_bench.cpp — the elementwise β-VQ pass (ReLU, learnable β = 0.9: swish
// with η = 9) against the references PERFORMANCE.md measures it by.
//
// Absolute speed on the shared machines drifts by up to 2× within an hour, so the
// targets are ratios taken inside one run: ≥ 8× a plain scalar std::exp loop in
// cache, ≥ 80% of copy bandwidth at 16 Mi floats, forward and forward+backward.
// The references are registered next to the passes they judge, size by size, so
// the two sides of each ratio run seconds apart: the FMA peak, the scalar loop, and the
// copy of bench/support/vector_copy.hpp with ordinary ("copy") and streaming
// ("copy_stream") stores, of which bench/ratios.py takes the faster as the bandwidth.
// Before its first timing the native pass is checked against maso's scalar build of it
// (support/cross_check.hpp). bench/ratios.py prints the ratios from this binary's JSON
// output.
#include "support/bench_main.hpp"
#include "support/cross_check.hpp"
#include "support/fma_peak.hpp"
#include "support/vector_copy.hpp"
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
#include <type_traits>
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

/// The bandwidth reference (bench/support/vector_copy.hpp), with ordinary or streaming
/// stores; bench/ratios.py divides by the faster of the two at each size.
template <bool Stream>
void copy_reference(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& in = inputs(n).z;
    std::vector<float> out(n); // value-initialised: page faults stay out of the timing
    benchmark::DoNotOptimize(out.data());
    for (auto _ : state) {
        maso_bench::vector_copy<native_arch>(in.data(), out.data(), n, Stream);
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
    const double flop = maso_bench::fma_peak_loop<xsimd::batch<float, native_arch>>(state);
    state.counters["FLOP/s"] = benchmark::Counter(flop * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

// ---- maso ---------------------------------------------------------------------------------

/// The native pass against maso's scalar build of it (simd::scalar_arch), once per case
/// before timing: y, dz and dθ to float rounding, or the binary stops
/// (support/cross_check.hpp). The pass has no fused form; its other computation is the
/// scalar one.
void check_against_scalar(std::size_t n, const std::string& name) {
    const auto& in = inputs(n);
    const std::span<const float> z(in.z), dy(in.dy);
    const auto b = maso::vq::beta::from_beta(beta_value);
    std::vector<float> y(n), ys(n), dz(n), dzs(n);
    maso::vq::beta_vq_forward(native_arch{}, maso::vq::relu{}, b, z, std::span<float>(y));
    maso::vq::beta_vq_forward(maso::simd::scalar_arch{}, maso::vq::relu{}, b, z,
                              std::span<float>(ys));
    const float dtheta =
        maso::vq::beta_vq_backward(native_arch{}, maso::vq::relu{}, b, z, dy, std::span<float>(dz));
    const float dtheta_scalar = maso::vq::beta_vq_backward(
        maso::simd::scalar_arch{}, maso::vq::relu{}, b, z, dy, std::span<float>(dzs));
    maso_bench::agree_or_abort(y, ys, name + " against the scalar build: y");
    maso_bench::agree_or_abort(dz, dzs, name + " against the scalar build: dz");
    maso_bench::agree_or_abort(dtheta, dtheta_scalar, name + " against the scalar build: dθ");
}

template <class Arch>
void beta_vq_forward(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::span<const float> z(inputs(n).z);
    std::vector<float> y(n);
    const auto b = maso::vq::beta::from_beta(beta_value);
    if (std::is_same_v<Arch, native_arch> &&
        maso_bench::first_time("beta_vq_forward/" + std::to_string(n)))
        check_against_scalar(n, "beta_vq_forward/" + std::to_string(n));
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
    if (std::is_same_v<Arch, native_arch> &&
        maso_bench::first_time("beta_vq_forward_backward/" + std::to_string(n)))
        check_against_scalar(n, "beta_vq_forward_backward/" + std::to_string(n));
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
        benchmark::RegisterBenchmark("copy", copy_reference<false>)->Arg(n);
        benchmark::RegisterBenchmark("copy_stream", copy_reference<true>)->Arg(n);
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
