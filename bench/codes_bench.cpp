// bench/codes_bench.cpp — what recording the VQ codes (run/codes.hpp) costs a forward pass.
//
// Issue 18 asks that the codes cost at most 10% of a forward pass. On a shared machine whose
// speed drifts within seconds, each case runs two models of the same network side by side —
// one plain, one recording its codes (program::record_codes: every unit's region, max
// pooling's members, no posteriors) — and every iteration times one forward of each on the
// thread's CPU clock, in alternating order, so that both sides see the same conditions. The
// case reports both times and their ratio, codes ÷ plain ("ratio"); with repetitions,
// bench/codes_ratios.py prints the median ratio and its range:
//
//   codes_bench --benchmark_repetitions=9 --benchmark_format=json --benchmark_out=codes.json
//   python3 bench/codes_ratios.py codes.json
//
// Cases: smallCNN (dsl_examples/small_cnn.hpp) on Fashion-MNIST's 1×28×28, hard ReLU and
// β-VQ ReLU (β = 0.9), batch 64, in evaluation mode (the chain and max pooling on the
// register tiles, the tile epilogue records) and in training mode (the statistics product,
// then the plane pass records); the MLP 784-512-512-10 with hard ReLU, batch 256 (the chain
// pass records). One thread.
#include "support/bench_main.hpp"
#include <dsl_examples/small_cnn.hpp>
#include <maso/maso.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace maso;

const auto
    mlp = input<784>() >>
          dense<512>() >> hard_vq<relu>() >> dense<512>() >> hard_vq<relu>() >> dense<10>() >>
          softmax_cross_entropy();

std::vector<float> random_images(std::size_t n) {
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> x(n);
    for (float& v : x)
        v = d(rng);
    return x;
}

/// The calling thread's CPU time, in seconds.
double cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

template <class Net>
void register_case(const std::string& name, const Net& net, std::size_t batch, mode m) {
    benchmark::RegisterBenchmark(name.c_str(), [net, batch, m](benchmark::State& state) {
        auto plain = instantiate(net, batch);
        auto coded = instantiate(net, batch);
        using S = typename decltype(plain)::input_shape;
        const auto x = random_images(S::size * batch);
        for (auto* model : {&plain, &coded}) {
            model->forward(x); // running statistics set, then the mode under test
            model->set_mode(m);
        }
        coded.program().record_codes();
        double t_plain = 0, t_codes = 0;
        bool codes_first = false;
        for (auto _ : state) {
            const double t0 = cpu_seconds();
            (codes_first ? coded : plain).forward(x);
            const double t1 = cpu_seconds();
            (codes_first ? plain : coded).forward(x);
            const double t2 = cpu_seconds();
            (codes_first ? t_codes : t_plain) += t1 - t0;
            (codes_first ? t_plain : t_codes) += t2 - t1;
            codes_first = !codes_first;
            benchmark::ClobberMemory();
        }
        const double n = double(state.iterations());
        state.counters["plain_ms"] = 1e3 * t_plain / n;
        state.counters["codes_ms"] = 1e3 * t_codes / n;
        state.counters["ratio"] = t_codes / t_plain;
    })->Unit(benchmark::kMillisecond);
}

} // namespace

int main(int argc, char** argv) {
    maso::set_num_threads(1);
    benchmark::AddCustomContext("isa", xsimd::default_arch::name());
    benchmark::AddCustomContext("threads", "1");
    const auto hard = maso_examples::small_cnn<1, 28, 28>(1.f);
    const auto beta = maso_examples::small_cnn<1, 28, 28>(0.9f);
    register_case("small_cnn_hard/evaluation", hard, 64, mode::evaluation);
    register_case("small_cnn_hard/training", hard, 64, mode::training);
    register_case("small_cnn_beta/evaluation", beta, 64, mode::evaluation);
    register_case("small_cnn_beta/training", beta, 64, mode::training);
    register_case("mlp_hard/evaluation", mlp, 256, mode::evaluation);
    return maso_bench::run(argc, argv);
}
