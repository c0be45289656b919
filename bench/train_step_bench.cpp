// bench/train_step_bench.cpp — one training step of the paper's largeCNN, batch 64.
//
// PERFORMANCE.md's target: training largeCNN on 2 threads faster than libtorch on the
// same machine (≈ 150–165 images/s there, ≈ 70–75% of the 2-core FMA peak). The
// network is dsl_examples/large_cnn.hpp (conv + batch norm + learnable-β swish per
// channel). One step is what a training loop runs per batch:
//
//   zero_gradients + forward(images, labels) + backward + sgd step (lr 0.01, momentum 0.9)
//
// with fuse::all and fuse::none, at 2 threads and at 1, named
// "large_cnn/train_step/fuse_<all|none>/threads_<n>", beside the in-run FMA peak at
// 1 and 2 threads ("fma_peak/threads_<n>", bench/support/threaded_references.hpp).
// bench/conv_ratios.py prints images/s, fused ÷ none and the share of the peak:
//
//   train_step_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                    --benchmark_format=json --benchmark_out=train_step.json
//   python3 bench/conv_ratios.py conv_block.json train_step.json
//
// Counters: items/s = images/s; FLOP/s counts the convolutions only — forward, dW of
// every convolution and dX of every one but the first (the images need no gradient),
// each 2·Cout·Cin·K²·OH·OW per image. Batch norm, the β-VQ units, global pooling, the
// loss and the SGD update are not counted, so FLOP/s ÷ peak is a lower bound on how
// busy the FMA units are. The loss counter is the last step's (finite, falling).
//
// Clocks: as in conv_block_bench, 1 thread is rated per CPU second (the pool runs a
// single range on the calling thread), 2 threads per wall-clock second (UseRealTime):
// the caller's CPU time would leave out the worker's share of the step. A step takes
// a large fraction of a second, so each case runs a fixed 3 timed steps after one
// untimed warm-up step, and five repetitions of the whole binary take a few minutes.
// Before its first timing each case checks its first step (loss, gradients, updated
// parameters) against one step of the other policy (support/cross_check.hpp).
#include "support/bench_main.hpp"
#include "support/cross_check.hpp"
#include "support/threaded_references.hpp"
#include <maso/core/thread_pool.hpp>
#include <maso/maso.hpp>

#include "dsl_examples/large_cnn.hpp"

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
using maso_examples::large_cnn;

constexpr std::size_t batch = 64;
constexpr int timed_steps = 3;
constexpr sgd_options optimiser{.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f};

// ---- FLOP of the convolutions (per image) ---------------------------------------------------

constexpr double conv_flop(double cin, double cout, double k, double out_hw) {
    return 2 * cin * cout * k * k * out_hw * out_hw;
}
/// The first convolution (3 → 96; no dX), then the others, as in large_cnn.hpp.
constexpr double first_conv = conv_flop(3, 96, 3, 32);
constexpr double other_convs = conv_flop(96, 96, 3, 32) + conv_flop(96, 96, 3, 16) +
                               conv_flop(96, 192, 3, 16) + conv_flop(192, 192, 3, 16) +
                               conv_flop(192, 192, 3, 8) + conv_flop(192, 192, 3, 6) +
                               conv_flop(192, 192, 1, 6) + conv_flop(192, 10, 1, 6);
/// forward (all) + dW (all) + dX (all but the first)
constexpr double step_flop = 2 * (first_conv + other_convs) + other_convs;

// ---- inputs -----------------------------------------------------------------------------

struct batch_data {
    std::vector<float> images;
    std::vector<int> labels;
};

/// Deterministic N(0, 1) pixels and labels n·7 mod 10, the same for every case.
batch_data make_batch() {
    batch_data d;
    std::mt19937 gen(20240611u);
    std::normal_distribution<float> pixel(0.f, 1.f);
    d.images.resize(batch * 3 * 32 * 32);
    for (auto& v : d.images)
        v = pixel(gen);
    d.labels.resize(batch);
    for (std::size_t n = 0; n < batch; ++n)
        d.labels[n] = static_cast<int>((7 * n) % 10);
    return d;
}

const batch_data& data() {
    static const batch_data d = make_batch();
    return d;
}

// ---- the step -------------------------------------------------------------------------------

/// One training step of model m with optimiser opt; returns the loss.
template <class Model>
float one_step(Model& m, sgd& opt) {
    m.zero_gradients();
    const float loss = m.forward(data().images, data().labels);
    m.backward();
    opt.step();
    return loss;
}

/// Model m after its first step against one step of the other policy from the same start:
/// the same loss, gradients and updated parameters to float rounding, or the binary stops
/// (support/cross_check.hpp).
template <class Model, class Other>
void check_against(Model& m, float loss, Other other, const std::string& name) {
    auto o = instantiate(large_cnn, batch, other, {.seed = 1});
    sgd opt(o, optimiser);
    const float other_loss = one_step(o, opt);
    const std::string against = name + " against " + Other::name();
    maso_bench::agree_or_abort(loss, other_loss, against + ": losses");
    maso_bench::agree_or_abort(m.gradients(), o.gradients(), against + ": gradients");
    maso_bench::agree_or_abort(m.parameters(), o.parameters(), against + ": parameters");
}

template <class Policy>
void train_step(benchmark::State& state, const std::string& name, Policy policy,
                std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    auto m = instantiate(large_cnn, batch, policy, {.seed = 1});
    sgd opt(m, optimiser);
    auto step = [&] { return one_step(m, opt); };
    float loss = step(); // warm-up: first touch of every buffer, the pool's threads started
    if (maso_bench::first_time(name)) {
        if constexpr (Policy::fused)
            check_against(m, loss, fuse::none, name);
        else
            check_against(m, loss, fuse::all, name);
    }
    for (auto _ : state) {
        loss = step();
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    const auto images_done =
        static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(batch);
    state.SetItemsProcessed(images_done);
    state.counters["FLOP/s"] = benchmark::Counter(step_flop * static_cast<double>(images_done),
                                                  benchmark::Counter::kIsRate);
    state.counters["loss"] = loss;
    state.counters["pool_threads"] = static_cast<double>(threads);
    state.counters["batch"] = static_cast<double>(batch);
}

void register_all() {
    for (const std::size_t threads : {std::size_t{2}, std::size_t{1}}) {
        maso_bench::register_references<native_arch>(threads);
        // Appended rather than "literal" + string: g++ 12 -O3 warns (-Wrestrict, a
        // false positive, GCC bug 105329) on the inlined insert that operator+ makes.
        auto name = [&](const char* plan) {
            std::string n = "large_cnn/train_step/";
            n.append(plan).append("/").append(maso_bench::threads_suffix(threads));
            return n;
        };
        const std::string all_name = name("fuse_all"), none_name = name("fuse_none");
        auto* all = benchmark::RegisterBenchmark(all_name.c_str(),
                                                 [all_name, threads](benchmark::State& s) {
                                                     train_step(s, all_name, fuse::all, threads);
                                                 });
        auto* none = benchmark::RegisterBenchmark(none_name.c_str(),
                                                  [none_name, threads](benchmark::State& s) {
                                                      train_step(s, none_name, fuse::none, threads);
                                                  });
        for (auto* b : {all, none}) {
            b->Unit(benchmark::kMillisecond)->Iterations(timed_steps);
            if (threads > 1) b->UseRealTime();
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "2 and 1 (threads_<n> in each name)");
    benchmark::AddCustomContext("maso_train_step_batch", std::to_string(batch));
    benchmark::AddCustomContext("maso_train_step_flop_per_image", std::to_string(step_flop));
    register_all();
    return maso_bench::run(argc, argv);
}
