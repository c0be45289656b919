// bench/trainer_bench.cpp — what maso::trainer costs on top of the bare training step.
//
// The network is the paper's largeCNN (dsl_examples/large_cnn.hpp) at batch 64, trained with
// SGD (lr 0.01, momentum 0.9, weight decay 5e-4) as in train_step_bench.cpp, fused, on 2
// threads. Each iteration times, on the same model and back to back:
//
//   bare      `steps` bare training steps (zero_gradients, forward, backward, step) on one
//             fixed batch, as train_step_bench times them;
//   trainer   trainer::fit() over one epoch of `steps` steps of a synthetic CIFAR-like set
//             (3×32×32, N(0, 1) pixels, 10 classes): the prefetcher's sampling, gathering and
//             copying, the right answers counted, a progress line formatted every step (the
//             most a run shows), the trainer built and its prefetch thread started and
//             stopped — everything but the evaluation, which is not part of a step;
//
// in alternating order (bare first on even iterations), and reports both rates and their
// ratio as counters: images/s of each, and trainer_over_bare. With repetitions, Google
// Benchmark's aggregates give the ratio's median and spread:
//
//   trainer_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
//
// The claim (the trainer's issue, item 10): trainer_over_bare ≥ 0.95.
#include "support/bench_main.hpp"
#include "support/threaded_references.hpp"
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include "dsl_examples/large_cnn.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace maso;
using maso_examples::large_cnn;

constexpr std::size_t batch = 64, threads = 2;
constexpr sgd_options optimiser{.learning_rate = 0.01, .momentum = 0.9, .weight_decay = 5e-4};

/// steps·batch images of 3×32×32, N(0, 1) pixels, labels n·7 mod 10.
io::dataset synthetic(std::size_t steps) {
    const std::size_t n = steps * batch, size = 3 * 32 * 32;
    std::mt19937 gen(20240611u);
    std::normal_distribution<float> pixel(0.f, 1.f);
    std::vector<float> images(n * size);
    for (auto& v : images)
        v = pixel(gen);
    std::vector<int> labels(n);
    for (std::size_t i = 0; i < n; ++i)
        labels[i] = int((7 * i) % 10);
    return io::dataset(std::move(images), std::move(labels), {3, 32, 32}, 10, "synthetic");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void trainer_vs_bare(benchmark::State& state, std::size_t steps) {
    if (!maso_bench::use_threads(state, threads)) return;
    const io::dataset data = synthetic(steps);
    auto model = instantiate(large_cnn, batch, fuse::all, {.seed = 1});
    sgd opt(model, optimiser);
    const std::span<const float> images = data.images().first(batch * data.shape().size());
    const std::span<const int> labels = data.labels().first(batch);
    std::ostream sink(nullptr); // the lines are formatted, then dropped
    const trainer_options options{
        .progress = {.style = progress_style::lines, .out = &sink, .lines_per_epoch = steps}};

    const auto bare = [&] {
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t s = 0; s < steps; ++s) {
            model.zero_gradients();
            benchmark::DoNotOptimize(model.forward(images, labels));
            model.backward();
            opt.step();
        }
        benchmark::ClobberMemory();
        return seconds_since(t0);
    };
    const auto with_trainer = [&] {
        const auto t0 = std::chrono::steady_clock::now();
        trainer t(model, opt, data, options);
        benchmark::DoNotOptimize(t.fit().step);
        benchmark::ClobberMemory();
        return seconds_since(t0);
    };
    bare(); // warm-up: every buffer touched, the pool's threads started
    with_trainer();

    double bare_seconds = 0, trainer_seconds = 0;
    std::size_t iteration = 0;
    for (auto _ : state) {
        double b = 0, t = 0;
        if (iteration++ % 2 == 0) {
            b = bare();
            t = with_trainer();
        } else {
            t = with_trainer();
            b = bare();
        }
        state.SetIterationTime(t);
        bare_seconds += b;
        trainer_seconds += t;
    }
    const double trained = double(state.iterations() * steps * batch);
    state.counters["bare_images_per_s"] = trained / bare_seconds;
    state.counters["trainer_images_per_s"] = trained / trainer_seconds;
    state.counters["trainer_over_bare"] = bare_seconds / trainer_seconds;
    state.counters["steps"] = double(steps);
    state.counters["batch"] = double(batch);
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("maso_isa", xsimd::default_arch::name());
    benchmark::AddCustomContext("maso_threads", std::to_string(threads));
    benchmark::AddCustomContext("maso_trainer_bench",
                                "largeCNN, batch 64, SGD; time = the trainer's");
    for (const std::size_t steps : {std::size_t(8)})
        benchmark::RegisterBenchmark(("large_cnn/trainer_vs_bare/steps_" + std::to_string(steps) +
                                      "/" + maso_bench::threads_suffix(threads))
                                         .c_str(),
                                     [steps](benchmark::State& s) { trainer_vs_bare(s, steps); })
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime()
            ->Iterations(2);
    return maso_bench::run(argc, argv);
}
