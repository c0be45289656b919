// bench/peers/peers_conv_bench.cpp — the conv block against libtorch and oneDNN, in one run.
//
// PERFORMANCE.md's block, N = 32, 96×32×32 → conv 3×3 same (96, with bias) → β-VQ ReLU →
// 2×2 max pooling or β-softmax pooling, forward and forward+backward, at 1 and 2 threads:
//
//   maso_fused, maso_none      input<96, 32, 32>() >> conv2d<96, 3>() >>
//                              beta_vq<relu>(learnable(0.5f)) >> maxpool<2>() (or
//                              softpool<2>(learnable(0.5f))), fuse::all and fuse::none
//   torch_<nchw|cl>_<act>      libtorch's Conv2d, then swish with θ learned through
//                              autograd (act = swish_layer) or SiLU (silu), then max_pool2d
//                              or softmax pooling composed from its operators (unfold: the
//                              windows gathered, softmax, a weighted sum; avgpool: a ratio of
//                              two average poolings, which overflows for ηv > 88), in NCHW
//                              or channels-last memory format
//   conv_alone                 the convolution alone, forward, maso (a model of the one
//                              node) and oneDNN (its primitive): where a gap lies
//   onednn                     max pooling only: the convolution with swish as a post-op
//                              and the pooling primitive (forward), the training primitives
//                              (forward+backward), every layout oneDNN's own
//                              (support/onednn_conv_block.hpp); onednn_nchw also reorders
//                              x (and dy) from NCHW in every step, as maso's model converts
//                              them
//
// named "<block>/<pass>/<implementation>/threads_<n>", beside "fma_peak/threads_<n>". Every
// case is timed by wall clock (UseRealTime): libtorch's OpenMP threads, OpenBLAS's and maso's
// pool all work off the calling thread. Forward+backward is what a training step asks of the
// block: all gradients, including the input's (dx) and, where β is learnable, dθ; maso's
// zero_gradients and libtorch's zero_grad are part of it. Before timing, each case checks its
// output against maso's fused model from identical weights (θ = 0: β = ½, where swish is
// SiLU): a case that differs by more than 1e-3 of the output's scale is skipped with an error.
//
//   peers_conv_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                    --benchmark_format=json --benchmark_out=peers_conv.json
//   python3 bench/peers/peer_ratios.py peers_conv.json
#include "../support/bench_main.hpp"
#include "../support/threaded_references.hpp"
#include "support/onednn_conv_block.hpp"
#include "support/timed_loop.hpp"
#include "support/torch_environment.hpp"
#include "support/torch_networks.hpp"
#include "support/torch_state.hpp"
#include <maso/maso.hpp>

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

constexpr std::size_t batch = 32, channels = 96, height = 32, width = 32;

const auto conv_alone = input<channels, height, width>() >> conv2d<channels, 3>();
const auto conv_maxpool = input<channels, height, width>() >>
                          conv2d<channels, 3>() >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>();
const auto conv_softpool =
    input<channels, height, width>() >>
    conv2d<channels, 3>() >> beta_vq<relu>(learnable(0.5f)) >> softpool<2>(learnable(0.5f));

/// The convolution's FLOP per image, forward; forward+backward is three times it (dW, dx).
constexpr double conv_flop = 2.0 * channels * channels * 9 * height * width;

enum class pass { forward, forward_backward };

std::vector<float> normal_values(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> dist(0.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v)
        x = dist(gen);
    return v;
}

const std::vector<float>& images() {
    static const std::vector<float> x = normal_values(batch * channels * height * width, 7u);
    return x;
}
const std::vector<float>& output_gradient() {
    static const std::vector<float> dy =
        normal_values(batch * channels * (height / 2) * (width / 2), 11u);
    return dy;
}

/// The fused maso model every case is checked against, its output as NCHW.
template <class Net>
auto reference_model(const Net& net) {
    return instantiate(net, batch, fuse::all, {.seed = 1});
}

/// Skips the case unless `ours` is `theirs` to 1e-3 of the output's scale.
bool same_output(benchmark::State& state, const std::vector<float>& ours,
                 const std::vector<float>& theirs) {
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < theirs.size(); ++i) {
        scale = std::max(scale, double(std::fabs(theirs[i])));
        diff = std::max(diff, double(std::fabs(ours[i] - theirs[i])));
    }
    if (ours.size() == theirs.size() && diff <= 1e-3 * scale) return true;
    state.SkipWithError(("output differs from maso's: max |difference| " + std::to_string(diff) +
                         ", scale " + std::to_string(scale))
                            .c_str());
    return false;
}

void set_counters(benchmark::State& state, pass p, int threads) {
    const auto done = std::int64_t(state.iterations()) * std::int64_t(batch);
    state.SetItemsProcessed(done);
    state.counters["FLOP/s"] = benchmark::Counter(
        (p == pass::forward ? 1 : 3) * conv_flop * double(done), benchmark::Counter::kIsRate);
    state.counters["threads"] = threads;
}

// ---- maso ---------------------------------------------------------------------------------

template <class Net, class Policy>
void run_maso(benchmark::State& state, const Net& net, Policy policy, pass p, int threads) {
    if (!peers::use_threads(state, threads)) return;
    auto m = instantiate(net, batch, policy, {.seed = 1});
    m.enable_input_gradient(true);
    const std::span<const float> x(images()), dy(output_gradient());
    std::vector<float> y(batch * decltype(m)::output_shape::size), expected(y.size());
    m.forward(x);
    m.output(y);
    auto reference = reference_model(net);
    reference.forward(x);
    reference.output(expected);
    if (!same_output(state, y, expected)) return;
    peers::timed_loop(state, [&] {
        if (p == pass::forward_backward) m.zero_gradients();
        m.forward(x);
        if (p == pass::forward_backward) m.backward(dy);
        benchmark::DoNotOptimize(m.output().data);
    });
    set_counters(state, p, threads);
}

// ---- libtorch -----------------------------------------------------------------------------

struct torch_case {
    bool channels_last;
    peers::activation act;
    peers::pooling pool;
};

template <class Net>
void run_torch(benchmark::State& state, const Net& net, torch_case c, pass p, int threads) {
    if (!peers::use_threads(state, threads)) return;
    auto reference = reference_model(net);
    peers::conv_block block(std::int64_t(channels), c.act, c.pool);
    peers::copy_state(reference.state_dict(), block->state, c.act == peers::activation::silu);
    const auto format =
        c.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    if (c.channels_last) peers::to_channels_last(*block);
    const std::vector<std::int64_t> in{batch, channels, height, width},
        out{batch, channels, height / 2, width / 2};
    torch::Tensor x = torch::from_blob(const_cast<float*>(images().data()), in)
                          .contiguous(format)
                          .clone(format)
                          .requires_grad_(p == pass::forward_backward);
    const torch::Tensor dy =
        torch::from_blob(const_cast<float*>(output_gradient().data()), out).clone();
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor y = block->forward(x).contiguous();
        std::vector<float> expected(output_gradient().size());
        reference.forward(images());
        reference.output(expected);
        if (!same_output(state, {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()}, expected))
            return;
    }
    peers::timed_loop(state, [&] {
        if (p == pass::forward) {
            torch::NoGradGuard no_grad;
            benchmark::DoNotOptimize(block->forward(x).data_ptr());
        } else {
            block->zero_grad();
            if (x.grad().defined()) x.mutable_grad().zero_();
            block->forward(x).backward(dy);
            benchmark::DoNotOptimize(x.grad().data_ptr());
        }
    });
    set_counters(state, p, threads);
}

// ---- oneDNN -------------------------------------------------------------------------------

/// The convolution alone, forward, in oneDNN: the reference that says whether a gap in the
/// block lies in the product or in what follows it.
void run_onednn_conv(benchmark::State& state, int threads) {
    if (!peers::use_threads(state, threads)) return;
    auto reference = reference_model(conv_alone);
    const auto state_dict = reference.state_dict();
    peers::onednn_conv_block block(batch, channels, height, width, 1.f,
                                   state_dict.at(0).value.data(), state_dict.at(1).value.data(),
                                   images().data());
    peers::timed_loop(state, [&] { block.convolution_only(); });
    set_counters(state, pass::forward, threads);
}

void run_onednn(benchmark::State& state, pass p, int threads, bool nchw_edges) {
    if (!peers::use_threads(state, threads)) return;
    auto reference = reference_model(conv_maxpool);
    const auto state_dict = reference.state_dict(); // "1.conv2d.weight" [C][C][3][3], then bias
    peers::onednn_conv_block block(batch, channels, height, width, 1.f,
                                   state_dict.at(0).value.data(), state_dict.at(1).value.data(),
                                   images().data());
    block.forward();
    std::vector<float> expected(output_gradient().size());
    reference.forward(images());
    reference.output(expected);
    if (!same_output(state, block.output(), expected)) return;
    peers::timed_loop(state, [&] {
        if (p == pass::forward)
            block.forward(nchw_edges);
        else
            block.forward_backward(nchw_edges);
    });
    set_counters(state, p, threads);
    state.counters["reorders_in_step"] = block.reorders_in_step() ? 1 : 0;
}

// ---- registration -------------------------------------------------------------------------

std::string case_name(const char* block, pass p, const std::string& impl, int threads) {
    std::string n = block;
    n.append(p == pass::forward ? "/forward/" : "/forward_backward/")
        .append(impl)
        .append("/")
        .append(maso_bench::threads_suffix(std::size_t(threads)));
    return n;
}

template <class F>
void add(const std::string& name, F f) {
    benchmark::RegisterBenchmark(name.c_str(), f)->Unit(benchmark::kMillisecond)->UseRealTime();
}

void register_all() {
    for (const int threads : {1, 2}) {
        benchmark::RegisterBenchmark(
            ("fma_peak/" + maso_bench::threads_suffix(std::size_t(threads))).c_str(),
            [threads](benchmark::State& s) {
                maso_bench::fma_peak_threads<native_arch>(s, std::size_t(threads));
            })
            ->UseRealTime();
        // the convolution alone, forward: maso's model, oneDNN's primitive
        add(case_name("conv_alone", pass::forward, "maso_fused", threads),
            [=](benchmark::State& s) {
                run_maso(s, conv_alone, fuse::all, pass::forward, threads);
            });
        add(case_name("conv_alone", pass::forward, "onednn", threads),
            [=](benchmark::State& s) { run_onednn_conv(s, threads); });
        for (const pass p : {pass::forward, pass::forward_backward}) {
            add(case_name("conv_maxpool", p, "maso_fused", threads),
                [=](benchmark::State& s) { run_maso(s, conv_maxpool, fuse::all, p, threads); });
            add(case_name("conv_maxpool", p, "maso_none", threads),
                [=](benchmark::State& s) { run_maso(s, conv_maxpool, fuse::none, p, threads); });
            add(case_name("conv_softpool", p, "maso_fused", threads),
                [=](benchmark::State& s) { run_maso(s, conv_softpool, fuse::all, p, threads); });
            add(case_name("conv_softpool", p, "maso_none", threads),
                [=](benchmark::State& s) { run_maso(s, conv_softpool, fuse::none, p, threads); });
            add(case_name("conv_maxpool", p, "onednn", threads),
                [=](benchmark::State& s) { run_onednn(s, p, threads, false); });
            add(case_name("conv_maxpool", p, "onednn_nchw", threads),
                [=](benchmark::State& s) { run_onednn(s, p, threads, true); });
            for (const bool cl : {false, true}) {
                const std::string layout = cl ? "torch_cl_" : "torch_nchw_";
                for (const auto act : {peers::activation::swish_per_layer, peers::activation::silu})
                    add(case_name("conv_maxpool", p, layout + peers::name(act), threads),
                        [=](benchmark::State& s) {
                            run_torch(s, conv_maxpool, {cl, act, peers::pooling::max}, p, threads);
                        });
                for (const auto pool : {peers::pooling::soft_unfold, peers::pooling::soft_avgpool})
                    add(case_name("conv_softpool", p,
                                  layout + "swish_layer_" +
                                      (pool == peers::pooling::soft_unfold ? "unfold" : "avgpool"),
                                  threads),
                        [=](benchmark::State& s) {
                            run_torch(s, conv_softpool,
                                      {cl, peers::activation::swish_per_layer, pool}, p, threads);
                        });
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    peers::torch_default_threads(); // before any case sets it
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "1 and 2 (threads_<n> in each name)");
    benchmark::AddCustomContext("peer_onednn_isa", peers::onednn_conv_block::isa_name());
    const dnnl_version_t* v = dnnl_version();
    benchmark::AddCustomContext("peer_onednn", std::to_string(v->major) + "." +
                                                   std::to_string(v->minor) + "." +
                                                   std::to_string(v->patch));
    peers::add_torch_context();
    register_all();
    return maso_bench::run(argc, argv);
}
