// bench/peers/peers_swish_bench.cpp — swish alone and after a dense layer, against libtorch
// and oneDNN, in one run.
//
// swish/<pass>/<impl>/<n>: the elementwise β-VQ ReLU, y = z·σ(ηz), on n floats (64 Ki: in
// L2; 16 Mi: from memory), 1 thread, forward and forward+backward (dz from dy, and dθ where
// β is learnable):
//   maso          vq::beta_vq_forward / beta_vq_backward (the layers' kernel), learnable
//                 β = ½: the backward also reduces dθ in the same pass
//   torch_swish   z·sigmoid(exp(θ)·z) with θ a leaf, dz and dθ through autograd
//   torch_silu    torch::silu, and its fused backward kernel (no θ)
//   onednn        the eltwise_swish primitive (η fixed, no dη), forward_training + backward
// dense_swish/<pass>/<impl>/threads_<n>: input<784> >> dense<512> >> beta_vq<relu>(learnable(½)),
// batch 256, 1 and 2 threads: maso fused and unfused, libtorch's Linear then swish or SiLU;
// forward+backward computes every gradient and ∂L/∂input.
//
// All cases are timed by wall clock (UseRealTime). Each checks its output against maso's
// before timing (β = ½: swish is SiLU) and is skipped with an error if it differs by more
// than 1e-4 (elementwise) or 1e-3 (dense) of the output's scale.
//
//   peers_swish_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                     --benchmark_format=json --benchmark_out=peers_swish.json
#include "../support/bench_main.hpp"
#include "../support/threaded_references.hpp"
#include "support/timed_loop.hpp"
#include "support/torch_environment.hpp"
#include "support/torch_state.hpp"
#include "support/torch_swish.hpp"
#include <maso/maso.hpp>

#include <benchmark/benchmark.h>
#include <dnnl.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using native_arch = xsimd::default_arch;
using namespace maso;
namespace peers = maso_peers;

enum class pass { forward, forward_backward };

std::vector<float> uniform_values(std::size_t n, unsigned seed, float lo, float hi) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v)
        x = dist(gen);
    return v;
}

/// Skips the case unless `ours` is `theirs` to `rel` of the output's scale.
bool same_output(benchmark::State& state, std::span<const float> ours,
                 std::span<const float> theirs, double rel) {
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < theirs.size(); ++i) {
        scale = std::max(scale, double(std::fabs(theirs[i])));
        diff = std::max(diff, double(std::fabs(ours[i] - theirs[i])));
    }
    if (ours.size() == theirs.size() && diff <= rel * scale) return true;
    state.SkipWithError(("output differs from maso's: max |difference| " + std::to_string(diff) +
                         ", scale " + std::to_string(scale))
                            .c_str());
    return false;
}

// ---- elementwise ----------------------------------------------------------------------------

struct arrays {
    std::vector<float> z, dy, y; ///< y: maso's forward, the reference
};

/// z and dy in [−4, 4] (swish neither linear nor saturated), cached per size.
const arrays& elementwise_inputs(std::size_t n) {
    static std::map<std::size_t, arrays> cache;
    auto [it, fresh] = cache.try_emplace(n);
    if (fresh) {
        it->second.z = uniform_values(n, 1u, -4.f, 4.f);
        it->second.dy = uniform_values(n, 2u, -4.f, 4.f);
        it->second.y.resize(n);
        maso::vq::beta_vq_forward(native_arch{}, maso::vq::relu{}, maso::vq::beta::from_beta(0.5f),
                                  std::span<const float>(it->second.z),
                                  std::span<float>(it->second.y));
    }
    return it->second;
}

void elementwise_counters(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
    state.counters["threads"] = 1;
}

void swish_maso(benchmark::State& state, pass p, std::size_t n) {
    if (!peers::use_threads(state, 1)) return;
    const arrays& in = elementwise_inputs(n);
    std::vector<float> y(n), dz(n);
    const auto b = maso::vq::beta::from_beta(0.5f);
    const std::span<const float> z(in.z), dy(in.dy);
    maso::vq::beta_vq_forward(native_arch{}, maso::vq::relu{}, b, z, std::span<float>(y));
    if (!same_output(state, y, in.y, 1e-4)) return;
    peers::timed_loop(state, [&] {
        maso::vq::beta_vq_forward(native_arch{}, maso::vq::relu{}, b, z, std::span<float>(y));
        if (p == pass::forward_backward) {
            float dtheta = maso::vq::beta_vq_backward(native_arch{}, maso::vq::relu{}, b, z, dy,
                                                      std::span<float>(dz));
            benchmark::DoNotOptimize(dtheta);
        }
    });
    elementwise_counters(state, n);
}

void swish_torch(benchmark::State& state, pass p, std::size_t n, peers::activation act) {
    if (!peers::use_threads(state, 1)) return;
    const arrays& in = elementwise_inputs(n);
    const auto size = std::int64_t(n);
    torch::Tensor z = torch::from_blob(const_cast<float*>(in.z.data()), {size}).clone();
    const torch::Tensor dy = torch::from_blob(const_cast<float*>(in.dy.data()), {size}).clone();
    peers::swish f(1, act);
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor y = f->forward(z);
        if (!same_output(state, {y.data_ptr<float>(), n}, in.y, 1e-4)) return;
    }
    z.requires_grad_(p == pass::forward_backward);
    peers::timed_loop(state, [&] {
        if (p == pass::forward) {
            torch::NoGradGuard no_grad;
            benchmark::DoNotOptimize(f->forward(z).data_ptr());
        } else {
            f->zero_grad();
            if (z.grad().defined()) z.mutable_grad().zero_();
            f->forward(z).backward(dy);
            benchmark::DoNotOptimize(z.grad().data_ptr());
        }
    });
    elementwise_counters(state, n);
}

void swish_onednn(benchmark::State& state, pass p, std::size_t n) {
    if (!peers::use_threads(state, 1)) return;
    using namespace dnnl;
    const arrays& in = elementwise_inputs(n);
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const memory::desc md({std::int64_t(n)}, memory::data_type::f32, memory::format_tag::x);
    memory z(md, eng, const_cast<float*>(in.z.data())),
        dy(md, eng, const_cast<float*>(in.dy.data()));
    memory y(md, eng), dz(md, eng);
    const eltwise_forward::primitive_desc fwd_pd(
        {prop_kind::forward_training, algorithm::eltwise_swish, md, 1.f, 0.f}, eng);
    const eltwise_backward::primitive_desc bwd_pd({algorithm::eltwise_swish, md, md, 1.f, 0.f}, eng,
                                                  fwd_pd);
    eltwise_forward fwd(fwd_pd);
    eltwise_backward bwd(bwd_pd);
    fwd.execute(s, {{DNNL_ARG_SRC, z}, {DNNL_ARG_DST, y}});
    s.wait();
    if (!same_output(state, {static_cast<float*>(y.get_data_handle()), n}, in.y, 1e-4)) return;
    peers::timed_loop(state, [&] {
        fwd.execute(s, {{DNNL_ARG_SRC, z}, {DNNL_ARG_DST, y}});
        if (p == pass::forward_backward)
            bwd.execute(s, {{DNNL_ARG_SRC, z}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dz}});
        s.wait();
    });
    elementwise_counters(state, n);
}

// ---- dense layer + swish ----------------------------------------------------------------------

constexpr std::size_t dense_batch = 256, dense_in = 784, dense_out = 512;
const auto dense_swish = input<dense_in>() >> dense<dense_out>() >> beta_vq<relu>(learnable(0.5f));
constexpr double dense_flop = 2.0 * dense_in * dense_out; // per image, forward

const std::vector<float>& dense_images() {
    static const std::vector<float> x = uniform_values(dense_batch * dense_in, 3u, -1.f, 1.f);
    return x;
}
const std::vector<float>& dense_dy() {
    static const std::vector<float> dy = uniform_values(dense_batch * dense_out, 4u, -1.f, 1.f);
    return dy;
}

void dense_counters(benchmark::State& state, pass p, int threads) {
    const auto done = std::int64_t(state.iterations()) * std::int64_t(dense_batch);
    state.SetItemsProcessed(done);
    state.counters["FLOP/s"] = benchmark::Counter(
        (p == pass::forward ? 1 : 3) * dense_flop * double(done), benchmark::Counter::kIsRate);
    state.counters["threads"] = threads;
}

std::vector<float> dense_reference() {
    auto m = instantiate(dense_swish, dense_batch, fuse::all, {.seed = 1});
    std::vector<float> y(dense_batch * dense_out);
    m.forward(dense_images());
    m.output(y);
    return y;
}

template <class Policy>
void dense_maso(benchmark::State& state, Policy policy, pass p, int threads) {
    if (!peers::use_threads(state, threads)) return;
    auto m = instantiate(dense_swish, dense_batch, policy, {.seed = 1});
    m.enable_input_gradient(true);
    std::vector<float> y(dense_batch * dense_out);
    m.forward(dense_images());
    m.output(y);
    if (!same_output(state, y, dense_reference(), 1e-3)) return;
    const std::span<const float> x(dense_images()), dy(dense_dy());
    peers::timed_loop(state, [&] {
        if (p == pass::forward_backward) m.zero_gradients();
        m.forward(x);
        if (p == pass::forward_backward) m.backward(dy);
        benchmark::DoNotOptimize(m.output().data);
    });
    dense_counters(state, p, threads);
}

void dense_torch(benchmark::State& state, peers::activation act, pass p, int threads) {
    if (!peers::use_threads(state, threads)) return;
    auto reference = instantiate(dense_swish, dense_batch, fuse::all, {.seed = 1});
    torch::nn::Linear linear(dense_in, dense_out);
    peers::swish f(1, act);
    std::vector<torch::Tensor> state_list{linear->weight, linear->bias};
    if (f->theta.defined()) state_list.push_back(f->theta);
    peers::copy_state(reference.state_dict(), state_list, act == peers::activation::silu);
    torch::Tensor x = torch::from_blob(const_cast<float*>(dense_images().data()),
                                       {std::int64_t(dense_batch), std::int64_t(dense_in)})
                          .clone();
    const torch::Tensor dy = torch::from_blob(const_cast<float*>(dense_dy().data()),
                                              {std::int64_t(dense_batch), std::int64_t(dense_out)})
                                 .clone();
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor y = f->forward(linear->forward(x));
        if (!same_output(state, {y.data_ptr<float>(), std::size_t(y.numel())}, dense_reference(),
                         1e-3))
            return;
    }
    x.requires_grad_(p == pass::forward_backward);
    peers::timed_loop(state, [&] {
        if (p == pass::forward) {
            torch::NoGradGuard no_grad;
            benchmark::DoNotOptimize(f->forward(linear->forward(x)).data_ptr());
        } else {
            linear->zero_grad();
            f->zero_grad();
            if (x.grad().defined()) x.mutable_grad().zero_();
            f->forward(linear->forward(x)).backward(dy);
            benchmark::DoNotOptimize(x.grad().data_ptr());
        }
    });
    dense_counters(state, p, threads);
}

// ---- registration -------------------------------------------------------------------------

const char* pass_name(pass p) { return p == pass::forward ? "forward" : "forward_backward"; }

template <class F>
void add(const std::string& name, F f) {
    benchmark::RegisterBenchmark(name.c_str(), f)->UseRealTime();
}

void register_all() {
    for (const int threads : {1, 2})
        benchmark::RegisterBenchmark(
            ("fma_peak/" + maso_bench::threads_suffix(std::size_t(threads))).c_str(),
            [threads](benchmark::State& s) {
                maso_bench::fma_peak_threads<native_arch>(s, std::size_t(threads));
            })
            ->UseRealTime();
    for (const std::size_t n : {std::size_t{1} << 16, std::size_t{1} << 24})
        for (const pass p : {pass::forward, pass::forward_backward}) {
            const std::string base = std::string("swish/") + pass_name(p) + "/";
            const std::string size = "/" + std::to_string(n);
            add(base + "maso" + size, [=](benchmark::State& s) { swish_maso(s, p, n); });
            add(base + "torch_swish" + size, [=](benchmark::State& s) {
                swish_torch(s, p, n, peers::activation::swish_per_layer);
            });
            add(base + "torch_silu" + size,
                [=](benchmark::State& s) { swish_torch(s, p, n, peers::activation::silu); });
            add(base + "onednn" + size, [=](benchmark::State& s) { swish_onednn(s, p, n); });
        }
    for (const int threads : {1, 2})
        for (const pass p : {pass::forward, pass::forward_backward}) {
            const std::string base = std::string("dense_swish/") + pass_name(p) + "/";
            const std::string suffix = "/" + maso_bench::threads_suffix(std::size_t(threads));
            add(base + "maso_fused" + suffix,
                [=](benchmark::State& s) { dense_maso(s, fuse::all, p, threads); });
            add(base + "maso_none" + suffix,
                [=](benchmark::State& s) { dense_maso(s, fuse::none, p, threads); });
            add(base + "torch_swish_layer" + suffix, [=](benchmark::State& s) {
                dense_torch(s, peers::activation::swish_per_layer, p, threads);
            });
            add(base + "torch_silu" + suffix,
                [=](benchmark::State& s) { dense_torch(s, peers::activation::silu, p, threads); });
        }
}

} // namespace

int main(int argc, char** argv) {
    peers::torch_default_threads(); // before any case sets it
    benchmark::AddCustomContext("maso_isa", native_arch::name());
    benchmark::AddCustomContext("maso_threads", "1 (swish), 1 and 2 (dense_swish, threads_<n>)");
    const dnnl_version_t* v = dnnl_version();
    benchmark::AddCustomContext("peer_onednn", std::to_string(v->major) + "." +
                                                   std::to_string(v->minor) + "." +
                                                   std::to_string(v->patch));
    peers::add_torch_context();
    register_all();
    return maso_bench::run(argc, argv);
}
