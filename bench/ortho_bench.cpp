// bench/ortho_bench.cpp — what keeping a layer's weight orthogonal costs, per training step,
// against the layer's own forward product, measured in the same run (PERFORMANCE.md).
//
// Every path of ortho/ on the weight W[K][D] of a layer of the paper's largeCNN and of two
// dense layers, float, at 1 and 2 threads:
//   penalty            penalty_kernel::add_gradient: P-a's value and its gradient added to dW
//   gs_classical       gram_schmidt_kernel<classical>: forward V = GS(W), then backward
//   gs_cgs2            gram_schmidt_kernel<cgs2>: forward and backward
//   cholesky_qr        cholesky_qr_kernel: forward and backward
// and, as the reference of each shape, the layer's forward product Z = W·X at batch 64:
//   forward_product    gemm_nn, K × D times D × columns, columns = 64 · (output pixels):
//     96 × 864 (96 filters of 96·3·3 on 32×32 maps):               65536 columns
//     192 × 1728 (192 filters of 192·3·3 on 16×16 maps):           16384 columns
//     512 × 512 and 1024 × 1024 (dense, batch 64):                  64 columns
// A training step is about three such products (forward, dW, dX), so a path's share of the
// step is ≈ time(path) / (3 · time(forward_product)). The target of the fast exact path
// (cholesky_qr): at most 10% of its layer's training step at 192 × 1728.
//
// bench/ortho_ratios.py prints the ratios from this binary's JSON output:
//
//   ortho_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//               --benchmark_format=json --benchmark_out=ortho.json
//   python3 bench/ortho_ratios.py ortho.json
//
// Names: "<path>/<K>x<D>/threads_<n>". 1-thread cases are timed in CPU time, 2-thread cases in
// wall-clock time (UseRealTime), as the other benchmarks do; the ratios compare cases of one
// thread count, so each is taken on one clock. The forward product reports its GFLOP/s; the
// shared FMA-peak loop (bench/support/fma_peak.hpp) is not registered: in this -O2 build it
// read 50–70 GFLOP/s on Zen 5 while the GEMM ran at 160–230, so it was no reference.
#include "support/bench_main.hpp"
#include "support/threaded_references.hpp" // use_threads, threads_suffix
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/ortho/cholesky_qr.hpp>
#include <maso/ortho/gram_schmidt.hpp>
#include <maso/ortho/penalty.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;

struct layer_shape {
    std::size_t K, D, columns;
    const char* what;
};

const layer_shape shapes[] = {
    {96, 864, 64 * 32 * 32, "largeCNN conv 96 -> 96, 3x3, 32x32"},
    {192, 1728, 64 * 16 * 16, "largeCNN conv 192 -> 192, 3x3, 16x16"},
    {512, 512, 64, "dense 512 -> 512"},
    {1024, 1024, 64, "dense 1024 -> 1024"},
};

std::string shape_name(const layer_shape& s) {
    return std::to_string(s.K) + "x" + std::to_string(s.D);
}

/// Glorot-uniform-like values, one set per size, made once.
const std::vector<float>& values(std::size_t n, double bound, unsigned seed) {
    static std::map<std::tuple<std::size_t, double, unsigned>, std::vector<float>> cache;
    auto [it, fresh] = cache.try_emplace({n, bound, seed});
    if (fresh) {
        std::mt19937 g(seed);
        std::uniform_real_distribution<float> u(-float(bound), float(bound));
        it->second.resize(n);
        for (auto& v : it->second)
            v = u(g);
    }
    return it->second;
}

const std::vector<float>& weight(const layer_shape& s) {
    return values(s.K * s.D, std::sqrt(6.0 / double(s.K + s.D)), 1);
}

void label(benchmark::State& state, const layer_shape& s, std::size_t threads) {
    state.counters["K"] = double(s.K);
    state.counters["D"] = double(s.D);
    state.counters["columns"] = double(s.columns);
    state.counters["pool_threads"] = double(threads);
}

void forward_product(benchmark::State& state, layer_shape s, std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    const auto& w = weight(s);
    const auto& x = values(s.D * s.columns, 1.0, 2);
    std::vector<float> z(s.K * s.columns);
    maso::kernels::reserve_workspace<native_arch, float>();
    for (auto _ : state) {
        maso::kernels::gemm_nn<native_arch>(s.K, s.columns, s.D, w.data(), x.data(), z.data(),
                                            false);
        benchmark::DoNotOptimize(z.data());
        benchmark::ClobberMemory();
    }
    label(state, s, threads);
    state.counters["FLOP/s"] = benchmark::Counter(
        2.0 * double(s.K) * double(s.D) * double(s.columns) * double(state.iterations()),
        benchmark::Counter::kIsRate);
}

void penalty(benchmark::State& state, layer_shape s, std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    const auto& w = weight(s);
    std::vector<float> dw(s.K * s.D, 0.f);
    maso::ortho::penalty_kernel<float, native_arch> p(s.K, s.D);
    double value = 0;
    for (auto _ : state) { // as a layer runs it: value before forward, gradient after backward
        value = p.value(w);
        p.add_gradient_at_value(w, dw);
        benchmark::DoNotOptimize(dw.data());
        benchmark::ClobberMemory();
    }
    label(state, s, threads);
    state.counters["P"] = value;
}

/// forward then backward of a reparametrisation kernel, with dL/dV a fixed random matrix.
template <class Kernel>
void reparametrisation(benchmark::State& state, layer_shape s, std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    const auto& w = weight(s);
    const auto& dv = values(s.K * s.D, 1.0, 3);
    std::vector<float> v(s.K * s.D), dw(s.K * s.D, 0.f);
    Kernel k(s.K, s.D);
    for (auto _ : state) {
        k.forward(w, v);
        k.backward(dv, dw);
        benchmark::DoNotOptimize(dw.data());
        benchmark::ClobberMemory();
    }
    label(state, s, threads);
}

void register_all() {
    using maso::ortho::gs_form;
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
        // Appended, not "/" + …: g++ 12 at -O3 -march=native warns of a memcpy overlap in
        // operator+ (a false positive, -Wrestrict) and the bench builds with -Werror.
        std::string suffix = "/";
        suffix += maso_bench::threads_suffix(threads);
        for (const layer_shape& s : shapes) {
            std::string shape = "/";
            shape += shape_name(s);
            auto add = [&](const char* path, auto fn) {
                auto* b =
                    benchmark::RegisterBenchmark((path + shape + suffix).c_str(),
                                                 [=](benchmark::State& st) { fn(st, s, threads); });
                b->Unit(benchmark::kMillisecond);
                if (threads > 1) b->UseRealTime();
            };
            add("forward_product", forward_product);
            add("penalty", penalty);
            add("gs_classical",
                reparametrisation<
                    maso::ortho::gram_schmidt_kernel<float, gs_form::classical, native_arch>>);
            add("gs_cgs2",
                reparametrisation<
                    maso::ortho::gram_schmidt_kernel<float, gs_form::cgs2, native_arch>>);
            add("cholesky_qr",
                reparametrisation<maso::ortho::cholesky_qr_kernel<float, native_arch>>);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "1 and 2 (threads_<n> in each name)");
    std::string layers;
    for (const layer_shape& s : shapes)
        layers += (layers.empty() ? "" : "; ") + shape_name(s) + " x " + std::to_string(s.columns) +
                  " columns (" + s.what + ")";
    benchmark::AddCustomContext("maso_ortho_layers", layers);
    register_all();
    return maso_bench::run(argc, argv);
}
