// bench/peers/peers_train_bench.cpp — training steps against libtorch, in one run.
//
// One step is what a training loop runs per batch: zero the gradients, forward with the
// loss, backward, an SGD update (lr 0.01, momentum 0.9, weight decay 5e-4 except on θ, as
// maso::sgd does by default). Two networks, the same on both sides, at 2 and 1 threads:
//
//   large_cnn   the paper's largeCNN, batch 64, 3×32×32 (dsl_examples/large_cnn.hpp: batch
//               norm and a swish with β learned per channel). maso fused and unfused;
//               libtorch in NCHW and channels-last, with that swish through autograd
//               (swish_channel) or SiLU (silu, libtorch's fastest activation: β = ½ fixed)
//   mlp         784-512-512-10, batch 256, swish with β learned per layer; maso fused and
//               unfused, libtorch with the swish or SiLU
//
// named "<network>/train_step/<implementation>/threads_<n>", beside "fma_peak/threads_<n>",
// every case by wall clock. Before timing, each libtorch case takes one step from maso's
// weights (torch_state.hpp) on the same batch and must give maso's loss to 1e-4; maso's
// unfused model must give the fused one's.
//
//   peers_train_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                     --benchmark_format=json --benchmark_out=peers_train.json
#include "../support/bench_main.hpp"
#include "../support/threaded_references.hpp"
#include "support/timed_loop.hpp"
#include "support/torch_environment.hpp"
#include "support/torch_networks.hpp"
#include "support/torch_state.hpp"
#include <maso/maso.hpp>

#include "dsl_examples/large_cnn.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;
using namespace maso;
namespace peers = maso_peers;
using maso_examples::large_cnn;

const auto mlp = input<784>() >> dense<512>() >> beta_vq<relu>(learnable(0.5f)) >> dense<512>() >>
                 beta_vq<relu>(learnable(0.5f)) >> dense<10>() >> softmax_cross_entropy();

constexpr sgd_options optimiser{.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f};
constexpr int timed_steps = 3;

struct workload {
    std::size_t batch;
    std::vector<std::int64_t> image_shape; ///< C, H, W (or the features)
    double flop_per_image;                 ///< the convolutions' or dense layers' multiply-adds ×2
};

constexpr double conv_flop(double cin, double cout, double k, double hw) {
    return 2 * cin * cout * k * k * hw * hw;
}
/// forward + dW for every convolution, dX for all but the first (the images need none)
const double large_cnn_flop = [] {
    const double first = conv_flop(3, 96, 3, 32);
    const double others = conv_flop(96, 96, 3, 32) + conv_flop(96, 96, 3, 16) +
                          conv_flop(96, 192, 3, 16) + conv_flop(192, 192, 3, 16) +
                          conv_flop(192, 192, 3, 8) + conv_flop(192, 192, 3, 6) +
                          conv_flop(192, 192, 1, 6) + conv_flop(192, 10, 1, 6);
    return 2 * (first + others) + others;
}();
const double mlp_flop = 3 * 2.0 * (784 * 512 + 512 * 512 + 512 * 10);

const workload large_cnn_workload{64, {3, 32, 32}, large_cnn_flop};
const workload mlp_workload{256, {784}, mlp_flop};

struct batch_data {
    std::vector<float> images;
    std::vector<int> labels;
};

/// N(0, 1) pixels and labels n·7 mod 10, the same for every case of a network.
batch_data make_batch(const workload& w) {
    std::size_t size = w.batch;
    for (auto e : w.image_shape)
        size *= std::size_t(e);
    batch_data d;
    std::mt19937 gen(20240611u);
    std::normal_distribution<float> pixel(0.f, 1.f);
    d.images.resize(size);
    for (auto& v : d.images)
        v = pixel(gen);
    for (std::size_t n = 0; n < w.batch; ++n)
        d.labels.push_back(int((7 * n) % 10));
    return d;
}

void set_counters(benchmark::State& state, const workload& w, int threads, double loss) {
    const auto done = std::int64_t(state.iterations()) * std::int64_t(w.batch);
    state.SetItemsProcessed(done);
    state.counters["FLOP/s"] =
        benchmark::Counter(w.flop_per_image * double(done), benchmark::Counter::kIsRate);
    state.counters["threads"] = threads;
    state.counters["loss"] = loss;
}

bool same_loss(benchmark::State& state, double ours, double theirs) {
    if (std::isfinite(ours) && std::fabs(ours - theirs) <= 1e-4 * std::fabs(theirs)) return true;
    state.SkipWithError(
        ("first loss " + std::to_string(ours) + " differs from maso's " + std::to_string(theirs))
            .c_str());
    return false;
}

/// maso's fused model's first loss from seed 1 on the batch: what every case must give.
template <class Net>
double reference_loss(const Net& net, const workload& w, const batch_data& d) {
    auto m = instantiate(net, w.batch, fuse::all, {.seed = 1});
    return m.forward(d.images, d.labels);
}

template <class Net, class Policy>
void train_maso(benchmark::State& state, const Net& net, const workload& w, Policy policy,
                int threads) {
    if (!peers::use_threads(state, threads)) return;
    const batch_data d = make_batch(w);
    auto m = instantiate(net, w.batch, policy, {.seed = 1});
    sgd opt(m, optimiser);
    const std::span<const float> images(d.images);
    const std::span<const int> labels(d.labels);
    float loss = 0;
    auto step = [&] {
        m.zero_gradients();
        loss = m.forward(images, labels);
        m.backward();
        opt.step();
    };
    step();
    if (!same_loss(state, loss, reference_loss(net, w, d))) return;
    peers::timed_loop(state, [&] {
        step();
        benchmark::DoNotOptimize(loss);
    });
    set_counters(state, w, threads, loss);
}

/// A libtorch network's trainable parameters in two groups: θ without weight decay.
torch::optim::SGD torch_optimiser(torch::nn::Module& net) {
    std::vector<torch::Tensor> decayed, thetas;
    for (const auto& p : net.named_parameters())
        (p.key().find("theta") != std::string::npos ? thetas : decayed).push_back(p.value());
    const auto options = torch::optim::SGDOptions(optimiser.learning_rate)
                             .momentum(optimiser.momentum)
                             .weight_decay(optimiser.weight_decay);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<torch::optim::SGDOptions>(options));
    if (!thetas.empty())
        groups.emplace_back(thetas, std::make_unique<torch::optim::SGDOptions>(
                                        torch::optim::SGDOptions(options).weight_decay(0)));
    return torch::optim::SGD(std::move(groups), options);
}

template <class Net, class TorchNet>
void train_torch(benchmark::State& state, const Net& net, const workload& w, TorchNet torch_net,
                 bool silu, bool channels_last, int threads) {
    if (!peers::use_threads(state, threads)) return;
    const batch_data d = make_batch(w);
    {
        auto m = instantiate(net, w.batch, fuse::all, {.seed = 1});
        peers::copy_state(m.state_dict(), torch_net->state, silu);
    }
    const auto format =
        channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    if (channels_last) peers::to_channels_last(*torch_net);
    std::vector<std::int64_t> shape{std::int64_t(w.batch)};
    shape.insert(shape.end(), w.image_shape.begin(), w.image_shape.end());
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(d.images.data()), shape).clone().contiguous(format);
    const torch::Tensor y =
        torch::tensor(std::vector<std::int64_t>(d.labels.begin(), d.labels.end()));
    torch::optim::SGD opt = torch_optimiser(*torch_net);
    double loss = 0;
    auto step = [&] {
        opt.zero_grad();
        const torch::Tensor l = torch::nn::functional::cross_entropy(torch_net->forward(x), y);
        l.backward();
        opt.step();
        loss = l.item<double>();
    };
    step();
    if (!same_loss(state, loss, reference_loss(net, w, d))) return;
    peers::timed_loop(state, [&] {
        step();
        benchmark::DoNotOptimize(loss);
    });
    set_counters(state, w, threads, loss);
}

// ---- registration -------------------------------------------------------------------------

template <class F>
void add(const std::string& network, const std::string& impl, int threads, int iterations, F f) {
    std::string n = network;
    n.append("/train_step/")
        .append(impl)
        .append("/")
        .append(maso_bench::threads_suffix(std::size_t(threads)));
    auto* b =
        benchmark::RegisterBenchmark(n.c_str(), f)->Unit(benchmark::kMillisecond)->UseRealTime();
    if (iterations > 0) b->Iterations(iterations);
}

void register_all() {
    for (const int threads : {2, 1}) {
        benchmark::RegisterBenchmark(
            ("fma_peak/" + maso_bench::threads_suffix(std::size_t(threads))).c_str(),
            [threads](benchmark::State& s) {
                maso_bench::fma_peak_threads<native_arch>(s, std::size_t(threads));
            })
            ->UseRealTime();
        // largeCNN: a step takes a large fraction of a second, so a fixed few steps
        add("large_cnn", "maso_fused", threads, timed_steps, [=](benchmark::State& s) {
            train_maso(s, large_cnn, large_cnn_workload, fuse::all, threads);
        });
        add("large_cnn", "maso_none", threads, timed_steps, [=](benchmark::State& s) {
            train_maso(s, large_cnn, large_cnn_workload, fuse::none, threads);
        });
        for (const bool cl : {false, true})
            for (const auto act : {peers::activation::swish_per_channel, peers::activation::silu})
                add("large_cnn", std::string(cl ? "torch_cl_" : "torch_nchw_") + peers::name(act),
                    threads, timed_steps, [=](benchmark::State& s) {
                        train_torch(s, large_cnn, large_cnn_workload, peers::large_cnn(3, act),
                                    act == peers::activation::silu, cl, threads);
                    });
        add("mlp", "maso_fused", threads, 0,
            [=](benchmark::State& s) { train_maso(s, mlp, mlp_workload, fuse::all, threads); });
        add("mlp", "maso_none", threads, 0,
            [=](benchmark::State& s) { train_maso(s, mlp, mlp_workload, fuse::none, threads); });
        for (const auto act : {peers::activation::swish_per_layer, peers::activation::silu})
            add("mlp", std::string("torch_") + peers::name(act), threads, 0,
                [=](benchmark::State& s) {
                    train_torch(s, mlp, mlp_workload, peers::mlp(act),
                                act == peers::activation::silu, false, threads);
                });
    }
}

} // namespace

int main(int argc, char** argv) {
    peers::torch_default_threads(); // before any case sets it
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "2 and 1 (threads_<n> in each name)");
    peers::add_torch_context();
    register_all();
    return maso_bench::run(argc, argv);
}
