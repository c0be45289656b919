// bench/conv_block_bench.cpp — the convolution block of PERFORMANCE.md, with its epilogues.
//
// PERFORMANCE.md's targets for the block N = 32 × 96×32×32 → conv2d<96, 3> (same):
// the convolution forward reaches ≥ 85% of the FMA peak, and the β-VQ + pooling
// epilogue (max or softmax pooling) adds ≤ 10% to the convolution alone. Every figure
// is a ratio inside one run, so this binary registers, side by side:
//
//   conv_alone     input<96, 32, 32>() >> conv2d<96, 3>()                       (the reference)
//   conv_maxpool   ... >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>()
//   conv_softpool  ... >> beta_vq<relu>(learnable(0.5f)) >> softpool<2>(learnable(0.5f))
//
// each forward and forward+backward, with fuse::all and fuse::none, at 1 and 2 threads,
// and the convolution's forward product alone, "conv_kernel/<natural|windows>/threads_<n>":
// kernels::gemm over kernels::patch_rows on an already padded input, in natural and
// in 2×2-window column order — what conv_alone costs without the model around it
// (the input's layout conversion, its padding and the bias pass),
// named "<block>/<pass>/fuse_<all|none>/threads_<n>", and the references
// "fma_peak/threads_<n>" (bench/support/fma_peak.hpp's loop, at 2 threads run on both
// pool threads through parallel_for) and "copy/threads_<n>", "copy_stream/threads_<n>"
// (bench/support/vector_copy.hpp with ordinary or streaming stores, of one 12 MiB
// activation, the size each epilogue pass streams). Before its first timing each case
// checks its output and gradients against the other policy's (support/cross_check.hpp).
// bench/conv_ratios.py prints the ratios:
//
//   conv_block_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                    --benchmark_format=json --benchmark_out=conv_block.json
//   python3 bench/conv_ratios.py conv_block.json [train_step.json]
//
// Forward+backward is zero_gradients + forward + backward(∂L/∂output) — there is no loss
// — with enable_input_gradient(true), so dX is computed as it would be inside a network.
// Counters: items/s = images/s; FLOP/s counts the convolution alone (forward
// 2·Cout·Cin·9·H·W per image; forward+backward adds dW and dX, as much again each), so
// FLOP/s ÷ peak of a block is the convolution's share with its epilogue's time included.
//
// Clocks: the 1-thread cases run entirely on the calling thread (the pool runs a
// single range inline) and are rated per CPU second, Google Benchmark's default and
// the steadier clock when other tenants preempt the process. The 2-thread cases use
// wall-clock time (UseRealTime, "/real_time" in the name): the calling thread's CPU
// time leaves out the worker's share, and the process's would count both threads, so
// neither gives a rate; the 2-thread peak and copy are timed the same way, so every
// ratio compares two figures on the same clock.
#include "support/bench_main.hpp"
#include "support/cross_check.hpp"
#include "support/fma_peak.hpp"
#include "support/threaded_references.hpp"
#include <maso/core/thread_pool.hpp>
#include <maso/maso.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;
using namespace maso;

// ---- the block ----------------------------------------------------------------------------

constexpr std::size_t batch = 32, channels = 96, height = 32, width = 32;

const auto conv_alone = input<channels, height, width>() >> conv2d<channels, 3>();
const auto conv_maxpool = input<channels, height, width>() >>
                          conv2d<channels, 3>() >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>();
const auto conv_softpool =
    input<channels, height, width>() >>
    conv2d<channels, 3>() >> beta_vq<relu>(learnable(0.5f)) >> softpool<2>(learnable(0.5f));

/// The convolution's forward FLOP per image: 2·Cout·Cin·K²·H·W (stride 1, same padding).
constexpr double conv_forward_flop = 2.0 * channels * channels * 9 * height * width;

enum class pass { forward, forward_backward };

/// Deterministic N(0, 1) values.
std::vector<float> normal_values(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> dist(0.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v)
        x = dist(gen);
    return v;
}

/// The pass once on a model (the gradients zeroed first).
template <pass P, class Model>
void run_pass(Model& m, std::span<const float> x, std::span<const float> g) {
    m.forward(x);
    if constexpr (P == pass::forward_backward) {
        m.zero_gradients();
        m.backward(g);
    }
}

/// Model m, which ran the pass once, against the block under the other policy: the same
/// output and (forward+backward) parameter and input gradients to float rounding, or the
/// binary stops (support/cross_check.hpp).
template <pass P, class Model, class Net, class Other>
void check_against(Model& m, const Net& net, Other other, std::span<const float> x,
                   std::span<const float> g, const std::string& name) {
    auto o = instantiate(net, batch, other, {.seed = 1});
    o.enable_input_gradient(true);
    run_pass<P>(o, x, g);
    const std::string against = name + " against " + Other::name();
    maso_bench::agree_or_abort({m.output().data, m.output().size()},
                               {o.output().data, o.output().size()}, against + ": outputs");
    if constexpr (P == pass::forward_backward) {
        maso_bench::agree_or_abort(m.gradients(), o.gradients(), against + ": gradients");
        maso_bench::agree_or_abort({m.input_gradient().data, m.input_gradient().size()},
                                   {o.input_gradient().data, o.input_gradient().size()},
                                   against + ": input gradients");
    }
}

/// One case. The thread count is set first (the model and the pool's buffers are then
/// reserved for it), the model built and run once outside the timed loop, its result checked
/// once against the other policy's.
template <pass P, class Net, class Policy>
void run_block(benchmark::State& state, const std::string& name, const Net& net, Policy policy,
               std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    auto m = instantiate(net, batch, policy, {.seed = 1});
    m.enable_input_gradient(true);
    using model_type = decltype(m);
    const std::vector<float> images = normal_values(batch * model_type::input_shape::size, 7u);
    const std::vector<float> dy = normal_values(batch * model_type::output_shape::size, 11u);
    const std::span<const float> x(images), g(dy);

    run_pass<P>(m, x, g); // warm-up: first touch of every buffer, the pool's threads started
    if (maso_bench::first_time(name)) {
        if constexpr (Policy::fused)
            check_against<P>(m, net, fuse::none, x, g, name);
        else
            check_against<P>(m, net, fuse::all, x, g, name);
    }
    for (auto _ : state) {
        if constexpr (P == pass::forward_backward) m.zero_gradients();
        m.forward(x);
        if constexpr (P == pass::forward_backward) m.backward(g);
        benchmark::DoNotOptimize(m.output().data);
        benchmark::ClobberMemory();
    }
    const auto images_done =
        static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(batch);
    state.SetItemsProcessed(images_done);
    const double per_image = P == pass::forward ? conv_forward_flop : 3 * conv_forward_flop;
    state.counters["FLOP/s"] = benchmark::Counter(per_image * static_cast<double>(images_done),
                                                  benchmark::Counter::kIsRate);
    state.counters["pool_threads"] = static_cast<double>(threads);
    state.counters["batch"] = static_cast<double>(batch);
}

/// The forward product alone: Z = W · cols with cols gathered from the padded input.
void run_kernel(benchmark::State& state, kernels::patch_order order, std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    using blocking = kernels::gemm_blocking<native_arch, float>;
    const kernels::conv_geometry g{channels, batch, height, width, 3, 1, 1};
    const std::size_t n = order.columns(g), d = g.rows();
    const std::vector<float> x = normal_values(channels * batch * height * width, 7u);
    const std::vector<float> w = normal_values(channels * d, 5u);
    std::vector<float> xp(kernels::padded_size(g)), z(channels * n);
    kernels::pad_input(g, x.data(), xp.data());
    kernels::reserve_workspace<native_arch, float>();
    for (auto _ : state) {
        kernels::gemm<native_arch>(channels, n, d, kernels::strided<float>{w.data(), d, 1},
                                   kernels::patch_rows<float, blocking::NC>{g, order, xp.data()},
                                   z.data(), n, false);
        benchmark::DoNotOptimize(z.data());
        benchmark::ClobberMemory();
    }
    const auto images_done =
        static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(batch);
    state.SetItemsProcessed(images_done);
    state.counters["FLOP/s"] = benchmark::Counter(
        conv_forward_flop * static_cast<double>(images_done), benchmark::Counter::kIsRate);
    state.counters["pool_threads"] = static_cast<double>(threads);
}

// ---- registration -------------------------------------------------------------------------

/// "<block>/<pass>/fuse_all/threads_<n>" then ".../fuse_none/...": the two sides of one
/// ratio, adjacent.
template <pass P, class Net>
void register_block(const std::string& name, const Net& net, std::size_t threads) {
    const std::string base = name + (P == pass::forward ? "/forward" : "/forward_backward");
    // Appended rather than `"/" + …`: g++ 12 at -O3 takes that prepend for an
    // overlapping memcpy (a known false -Wrestrict of g++ 12) once this is inlined.
    std::string suffix = "/";
    suffix += maso_bench::threads_suffix(threads);
    const std::string all_name = base + "/fuse_all" + suffix,
                      none_name = base + "/fuse_none" + suffix;
    auto* all = benchmark::RegisterBenchmark(all_name.c_str(),
                                             [&net, all_name, threads](benchmark::State& s) {
                                                 run_block<P>(s, all_name, net, fuse::all, threads);
                                             });
    auto* none = benchmark::RegisterBenchmark(
        none_name.c_str(), [&net, none_name, threads](benchmark::State& s) {
            run_block<P>(s, none_name, net, fuse::none, threads);
        });
    for (auto* b : {all, none}) {
        b->Unit(benchmark::kMillisecond);
        if (threads > 1) b->UseRealTime();
    }
}

void register_all() {
    // Default min time (0.5 s) per case: a run without repetitions takes about 40 s,
    // five repetitions 3–4 minutes (PERFORMANCE.md's conv is ≈ 30 ms forward).
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
        maso_bench::register_references<native_arch>(threads, batch * channels * height * width);
        for (const bool windows : {false, true}) {
            const auto order =
                windows ? kernels::patch_order::windows(2, 16) : kernels::patch_order::natural();
            auto* b = benchmark::RegisterBenchmark(
                ("conv_kernel/" + std::string(windows ? "windows/" : "natural/") +
                 maso_bench::threads_suffix(threads))
                    .c_str(),
                [order, threads](benchmark::State& s) { run_kernel(s, order, threads); });
            b->Unit(benchmark::kMillisecond);
            if (threads > 1) b->UseRealTime();
        }
        register_block<pass::forward>("conv_alone", conv_alone, threads);
        register_block<pass::forward>("conv_maxpool", conv_maxpool, threads);
        register_block<pass::forward>("conv_softpool", conv_softpool, threads);
        register_block<pass::forward_backward>("conv_alone", conv_alone, threads);
        register_block<pass::forward_backward>("conv_maxpool", conv_maxpool, threads);
        register_block<pass::forward_backward>("conv_softpool", conv_softpool, threads);
    }
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "1 and 2 (threads_<n> in each name)");
    benchmark::AddCustomContext("maso_conv_block_batch", std::to_string(batch));
    register_all();
    return maso_bench::run(argc, argv);
}
