// bench/networks_bench.cpp — whole networks, fused (fuse::all) against unfused (fuse::none).
//
// PERFORMANCE.md promises that the fused plan beats fuse::none on every network,
// forward and forward+backward. Absolute speed on the shared machines drifts by
// up to 2× within an hour, so the claim is a ratio inside one run: each case is
// registered as its fused form immediately followed by its unfused form, so the
// two sides of each ratio run seconds apart. bench/network_ratios.py prints the
// fused ÷ none ratios (and the share of the in-run FMA peak) from the JSON output:
//
//   networks_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                  --benchmark_format=json --benchmark_out=networks.json
//   python3 bench/network_ratios.py networks.json
//
// Cases: a small CNN (conv, learnable β-VQ, learnable softmax pooling, batch norm,
// max pooling, global average pooling) at batch 32, and the MLP 784-512-512-10
// with learnable-β swish at batch 256 — the peer figure PERFORMANCE.md quotes for
// libtorch (≈ 43,000 images/s training on 2 threads). Each runs forward only and
// forward+backward (zero_gradients + forward + backward: one training step
// without the optimiser). items/s is images/s. Each case runs at 1 and at 2 threads
// ("<network>/<pass>/fuse_<all|none>/threads_<n>"), beside the in-run FMA peak at each
// ("fma_peak/threads_<n>", support/threaded_references.hpp). As in conv_block_bench,
// 1-thread rates are per CPU second (Google Benchmark's default, the steadier clock when
// other tenants preempt the process; the pool runs a single range on the calling thread)
// and 2-thread rates per wall-clock second (UseRealTime): the caller's CPU time would
// leave out the worker's share.
// Before its first timing each case checks its loss, output and gradients against the
// other policy's (support/cross_check.hpp); the FMA peak is support/fma_peak.hpp's, one
// vfmadd per multiply-add under g++ and clang++.
#include "support/bench_main.hpp"
#include "support/cross_check.hpp"
#include "support/threaded_references.hpp"
#include <maso/maso.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;
using namespace maso;

// ---- the networks ---------------------------------------------------------------------

// 3×32×32 → conv 32 → 32×32 → softpool → 16×16 → conv 64 → 16×16 → maxpool → 8×8
// → conv 64 → 8×8 → global average → 64 → dense 10.
const auto small_cnn = input<3, 32, 32>() >> conv2d<32, 3>() >> beta_vq<relu>(learnable(0.5f)) >>
                       softpool<2>(learnable(0.5f)) >> conv2d<64, 3>() >>
                       batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f)) >> maxpool<2>() >>
                       conv2d<64, 3>() >> beta_vq<relu>(0.9f) >> global_avgpool() >> dense<10>() >>
                       softmax_cross_entropy();
constexpr std::size_t small_cnn_batch = 32;

const auto mlp = input<784>() >> dense<512>() >> beta_vq<relu>(learnable(0.5f)) >> dense<512>() >>
                 beta_vq<relu>(learnable(0.5f)) >> dense<10>() >> softmax_cross_entropy();
constexpr std::size_t mlp_batch = 256;

// ---- FLOP counts of the affine maps (per image) -----------------------------------------
//
// Forward: 2 FLOP per multiply-add of every convolution and dense layer. Backward
// runs dW = dz·xᵀ for every layer and dx = Wᵀ·dz for every layer but the first
// (model::enable_input_gradient is off), each as many FLOP as its forward. The
// pointwise and pooling work is not counted, so FLOP/s ÷ FMA peak is a lower
// bound on how busy the FMA units are.

struct flops {
    double first = 0, rest = 0; ///< the first affine map's forward FLOP, the others'
    double forward() const { return first + rest; }
    double forward_backward() const { return 2 * forward() + rest; }
};

constexpr double conv_flop(double cin, double cout, double k, double out_h, double out_w) {
    return 2 * cin * cout * k * k * out_h * out_w;
}
constexpr double dense_flop(double in, double out) { return 2 * in * out; }

const flops small_cnn_flops{conv_flop(3, 32, 3, 32, 32), conv_flop(32, 64, 3, 16, 16) +
                                                             conv_flop(64, 64, 3, 8, 8) +
                                                             dense_flop(64, 10)};
const flops mlp_flops{dense_flop(784, 512), dense_flop(512, 512) + dense_flop(512, 10)};

// ---- inputs -----------------------------------------------------------------------------

struct batch_data {
    std::vector<float> images;
    std::vector<int> labels;
};

/// Deterministic N(0, 1) pixels and labels n·7 mod 10, the same for fused and none.
batch_data make_batch(std::size_t batch, std::size_t pixels_per_image) {
    batch_data d;
    std::mt19937 gen(20240611u);
    std::normal_distribution<float> pixel(0.f, 1.f);
    d.images.resize(batch * pixels_per_image);
    for (auto& v : d.images)
        v = pixel(gen);
    d.labels.resize(batch);
    for (std::size_t n = 0; n < batch; ++n)
        d.labels[n] = static_cast<int>((7 * n) % 10);
    return d;
}

enum class pass { forward, forward_backward };

/// The pass once on a model: the loss (and the gradients, zeroed first).
template <pass P, class Model>
float run_pass(Model& m, std::span<const float> images, std::span<const int> labels) {
    const float loss = m.forward(images, labels);
    if constexpr (P == pass::forward_backward) {
        m.zero_gradients();
        m.backward();
    }
    return loss;
}

/// Model m, which ran the pass once, against the network under the other policy: the same
/// loss, probabilities and (forward+backward) gradients to float rounding, or the binary stops.
template <pass P, class Model, class Net, class Other>
void check_against(Model& m, const Net& net, Other other, std::size_t batch,
                   std::span<const float> images, std::span<const int> labels, float loss,
                   const std::string& name) {
    auto o = instantiate(net, batch, other, {.seed = 1});
    const float other_loss = run_pass<P>(o, images, labels);
    const std::string against = name + " against " + Other::name();
    maso_bench::agree_or_abort(loss, other_loss, against + ": losses");
    maso_bench::agree_or_abort({m.output().data, m.output().size()},
                               {o.output().data, o.output().size()}, against + ": outputs");
    if constexpr (P == pass::forward_backward)
        maso_bench::agree_or_abort(m.gradients(), o.gradients(), against + ": gradients");
}

/// One case: the model is built (and its buffers touched once) outside the timed loop, and
/// its result checked once against the other policy's (support/cross_check.hpp).
/// Counters: items/s = images/s; FLOP/s of the affine maps; the last loss, which must
/// agree between fuse::all and fuse::none (same seed, same parameters, no update).
template <pass P, class Net, class Policy>
void run_network(benchmark::State& state, const std::string& name, const Net& net, Policy policy,
                 std::size_t batch, flops f, std::size_t threads) {
    if (!maso_bench::use_threads(state, threads)) return;
    auto m = instantiate(net, batch, policy, {.seed = 1});
    using input_shape = typename decltype(m)::input_shape;
    const batch_data data = make_batch(batch, input_shape::size);
    const std::span<const float> images(data.images);
    const std::span<const int> labels(data.labels);

    float loss = run_pass<P>(m, images, labels); // warm-up: first touch of every buffer
    if (maso_bench::first_time(name)) {
        if constexpr (Policy::fused)
            check_against<P>(m, net, fuse::none, batch, images, labels, loss, name);
        else
            check_against<P>(m, net, fuse::all, batch, images, labels, loss, name);
    }
    for (auto _ : state) {
        if constexpr (P == pass::forward_backward) m.zero_gradients();
        loss = m.forward(images, labels);
        if constexpr (P == pass::forward_backward) m.backward();
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    const auto images_done =
        static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(batch);
    state.SetItemsProcessed(images_done);
    const double per_image = P == pass::forward ? f.forward() : f.forward_backward();
    state.counters["FLOP/s"] = benchmark::Counter(per_image * static_cast<double>(images_done),
                                                  benchmark::Counter::kIsRate);
    state.counters["loss"] = loss;
    state.counters["batch"] = static_cast<double>(batch);
    state.counters["pool_threads"] = static_cast<double>(threads);
}

// ---- registration -------------------------------------------------------------------------

/// "<network>/<pass>/fuse_all/threads_<n>" then ".../fuse_none/...": the two sides of one
/// ratio, adjacent.
template <pass P, class Net>
void register_case(const std::string& network, const Net& net, std::size_t batch, flops f,
                   std::size_t threads) {
    std::string base = network;
    base.append(P == pass::forward ? "/forward" : "/forward_backward").append("/fuse_");
    // Appended rather than `"/" + …`: g++ 12 at -O3 takes that prepend for an overlapping
    // memcpy (a known false -Wrestrict of g++ 12) once this is inlined.
    std::string suffix = "/";
    suffix += maso_bench::threads_suffix(threads);
    const std::string all = base + "all" + suffix, none = base + "none" + suffix;
    auto* a = benchmark::RegisterBenchmark(
        all.c_str(), [&net, all, batch, f, threads](benchmark::State& s) {
            run_network<P>(s, all, net, fuse::all, batch, f, threads);
        });
    auto* b = benchmark::RegisterBenchmark(
        none.c_str(), [&net, none, batch, f, threads](benchmark::State& s) {
            run_network<P>(s, none, net, fuse::none, batch, f, threads);
        });
    for (auto* r : {a, b}) {
        r->Unit(benchmark::kMillisecond);
        if (threads > 1) r->UseRealTime();
    }
}

void register_all() {
    // Default min time (0.5 s): a run without repetitions takes about 20 s, five
    // repetitions about two minutes.
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
        maso_bench::register_references<native_arch>(threads);
        register_case<pass::forward>("small_cnn", small_cnn, small_cnn_batch, small_cnn_flops,
                                     threads);
        register_case<pass::forward_backward>("small_cnn", small_cnn, small_cnn_batch,
                                              small_cnn_flops, threads);
        register_case<pass::forward>("mlp", mlp, mlp_batch, mlp_flops, threads);
        register_case<pass::forward_backward>("mlp", mlp, mlp_batch, mlp_flops, threads);
    }
}

} // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "1 and 2 (threads_<n> in each name)");
    benchmark::AddCustomContext("maso_small_cnn_batch", std::to_string(small_cnn_batch));
    benchmark::AddCustomContext("maso_mlp_batch", std::to_string(mlp_batch));
    register_all();
    return maso_bench::run(argc, argv);
}
