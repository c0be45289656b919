// bench/codes_bench.cpp — what recording the VQ codes (run/codes.hpp) costs a forward pass.
//
// Issue 18 asks that the codes cost at most 10% of a forward pass. Each case is registered
// as the forward without codes immediately followed by the same model's forward with them
// (program::record_codes: every unit's region, max pooling's members, no posteriors), so the
// two sides of a ratio run seconds apart on a machine whose speed drifts; run with
// repetitions and random interleaving, and bench/codes_ratios.py prints codes ÷ plain per
// case with the spread over the repetitions:
//
//   codes_bench --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true
//               --benchmark_format=json --benchmark_out=codes.json
//   python3 bench/codes_ratios.py codes.json
//
// Cases: smallCNN (dsl_examples/small_cnn.hpp) on Fashion-MNIST's 1×28×28, hard ReLU and
// β-VQ ReLU (β = 0.9), batch 64, in evaluation mode (the chain and max pooling on the
// register tiles, the tile epilogue records) and in training mode (the statistics product,
// then the plane pass records); the MLP 784-512-512-10 with hard ReLU, batch 256 (the chain
// pass records). One thread: rates per CPU second, the steadier clock under other tenants.
#include "support/bench_main.hpp"
#include <dsl_examples/small_cnn.hpp>
#include <maso/maso.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace maso;

const auto mlp = input<784>() >> dense<512>() >> hard_vq<relu>() >> dense<512>() >>
                 hard_vq<relu>() >> dense<10>() >> softmax_cross_entropy();

std::vector<float> random_images(std::size_t n) {
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> x(n);
    for (float& v : x)
        v = d(rng);
    return x;
}

template <class Net>
void register_case(const std::string& name, const Net& net, std::size_t batch, mode m) {
    for (const bool codes : {false, true})
        benchmark::RegisterBenchmark(
            (name + (codes ? "/codes" : "/plain")).c_str(),
            [net, batch, m, codes](benchmark::State& state) {
                auto model = instantiate(net, batch);
                using S = typename decltype(model)::input_shape;
                const auto x = random_images(S::size * batch);
                model.forward(x); // running statistics set, then the mode under test
                model.set_mode(m);
                if (codes) model.program().record_codes();
                for (auto _ : state) {
                    model.forward(x);
                    benchmark::ClobberMemory();
                }
                state.SetItemsProcessed(std::int64_t(state.iterations() * batch));
            })
            ->Unit(benchmark::kMillisecond);
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
