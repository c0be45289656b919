// bench/step_profile.cpp — where the paper's largeCNN training step spends its time, pass by
// pass, on 1 and 2 threads: the first item of the issue "Close to the limit".
//
// Built with MASO_PROFILE_KERNELS (core/profile.hpp), the runtime times each pass it runs —
// the kernel of every group, forward and backward, as describe() names it, and inside them
// the padded copy of a convolution's input, dW and dX — and counts the FLOP of its products.
// This program runs warm-up steps, then `--steps` timed steps of the same step as
// bench/train_step_bench.cpp (zero_gradients, forward, backward, SGD with momentum; fuse::all,
// batch 64, Glorot weights from seed 1), each pass's time per step beside the whole step's,
// and the FMA peak of the same threads measured in the same run (the loop of
// bench/support/fma_peak.hpp). It writes JSON; bench/step_profile.py turns it into the
// table of docs/performance.md:
//
//   step_profile --steps 10 --threads 1,2 > profile.json
//   python3 bench/step_profile.py profile.json --markdown docs/performance.md
//
// Timing a pass means a clock read at its start and end on the thread that drives the
// program: about 40 ns each, a few hundred per step against a step of ~0.4 s.
#define MASO_PROFILE_KERNELS
#include <maso/core/thread_pool.hpp>
#include <maso/maso.hpp>

#include "dsl_examples/large_cnn.hpp"

#include <benchmark/benchmark.h> // DoNotOptimize for the peak loop (support/fma_peak.hpp)

#include "support/fma_peak.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace maso;
using maso_examples::large_cnn;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t batch = 64;
constexpr sgd_options optimiser{.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f};

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// The FMA peak of the pool's `threads` threads, FLOP/s: the best of 5 runs of the peak loop
/// on every thread at once (the peak is what the hardware can do; its best run is that).
double fma_peak(std::size_t threads) {
    using batch_t = xsimd::batch<float, xsimd::default_arch>;
    constexpr int repeats = 200;
    float m = 0.9999999f, c = 1e-7f;
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(c);
    double best = 0;
    for (int run = 0; run < 5; ++run) {
        const auto t0 = clock_type::now();
        parallel_for(threads, [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t t = begin; t < end; ++t)
                for (int r = 0; r < repeats; ++r)
                    maso_bench::fma_peak_rounds<batch_t>(m, c, maso_bench::true_fma{});
        });
        const double flop =
            maso_bench::fma_peak_flop<batch_t>() * repeats * static_cast<double>(threads);
        best = std::max(best, flop / seconds_since(t0));
    }
    return best;
}

/// A number for JSON, to nine significant digits (std::to_string keeps six decimals only).
std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "\"";
}

/// One thread count's profile as a JSON object.
std::string profile(std::size_t threads, int steps) {
    set_num_threads(threads);
    const double peak = fma_peak(threads);
    auto m = instantiate(large_cnn, batch, fuse::all, {.seed = 1});
    sgd opt(m, optimiser);
    std::mt19937 gen(20240611u);
    std::normal_distribution<float> pixel(0.f, 1.f);
    std::vector<float> images(batch * 3 * 32 * 32);
    for (auto& v : images)
        v = pixel(gen);
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n)
        labels[n] = static_cast<int>((7 * n) % 10);
    using model_t = decltype(m);
    auto step = [&] {
        m.zero_gradients();
        const float loss = m.forward(images, labels);
        m.backward();
        MASO_RUN_PROFILE(model_t::model_passes, true, "update", 0);
        opt.step();
        return loss;
    };
    for (int w = 0; w < 2; ++w) // warm-up: first touch of every buffer, the pool started
        step();
    kernel_profile().clear();
    const auto t0 = clock_type::now();
    float loss = 0;
    for (int s = 0; s < steps; ++s)
        loss = step();
    const double step_seconds = seconds_since(t0) / steps;

    using program_t = typename model_t::program_type;
    std::string out =
        "{\"threads\": " + std::to_string(threads) + ", \"peak_flops\": " + num(peak) +
        ", \"step_seconds\": " + num(step_seconds) + ", \"loss\": " + num(loss) + ", \"groups\": [";
    for (std::size_t k = 0; k < program_t::groups.size(); ++k) {
        std::string label;
        for (std::size_t i = program_t::groups[k].begin; i < program_t::groups[k].end; ++i)
            label += (label.empty() ? "" : " >> ") + m.program().node_name(i);
        out += (k ? ", " : "") + json_string(label);
    }
    out += "], \"entries\": [";
    bool first = true;
    for (const profile_entry& e : kernel_profile().entries) {
        out += std::string(first ? "" : ", ") + "{\"group\": " + std::to_string(e.group) +
               ", \"backward\": " + (e.backward ? "true" : "false") +
               ", \"name\": " + json_string(e.name) + ", \"seconds\": " + num(e.seconds / steps) +
               ", \"flop\": " + num(e.flop / steps) +
               ", \"calls\": " + num(double(e.calls) / steps) + "}";
        first = false;
    }
    return out + "]}";
}

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr, "step_profile: %s\nusage: step_profile [--steps N] [--threads 1,2]\n",
                 why.c_str());
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    int steps = 10;
    std::vector<std::size_t> thread_counts{1, 2};
    for (int a = 1; a < argc; ++a) {
        const std::string arg = argv[a];
        if (a + 1 >= argc) usage("'" + arg + "' needs a value");
        const std::string value = argv[++a];
        try {
            if (arg == "--steps") {
                steps = std::stoi(value);
                if (steps < 1) usage("--steps must be at least 1, not " + value);
            } else if (arg == "--threads") {
                thread_counts.clear();
                for (std::size_t p = 0; p < value.size();) {
                    const std::size_t comma = value.find(',', p);
                    const std::string one =
                        value.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
                    thread_counts.push_back(std::stoul(one));
                    if (thread_counts.back() == 0) usage("a thread count must be at least 1");
                    p = comma == std::string::npos ? value.size() : comma + 1;
                }
            } else {
                usage("unknown option '" + arg + "'");
            }
        } catch (const std::logic_error&) {
            usage("'" + value + "' is not a number for " + arg);
        }
    }
    std::string out = "{\"isa\": " + json_string(xsimd::default_arch::name()) +
                      ", \"batch\": " + std::to_string(batch) +
                      ", \"steps\": " + std::to_string(steps) + ", \"runs\": [";
    for (std::size_t i = 0; i < thread_counts.size(); ++i)
        out += (i ? ", " : "") + profile(thread_counts[i], steps);
    std::printf("%s]}\n", out.c_str());
    return 0;
}
