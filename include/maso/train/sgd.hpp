// maso/train/sgd.hpp — stochastic gradient descent, with momentum (plain or Nesterov) and
// weight decay.
//
// One step updates every trainable tensor of a model (weights, biases, batch-norm γ and β,
// learnable β-VQ θ) from the gradient the last backward pass left in gradients():
//
//   d = g + wd·p                     (L2 weight decay, added to the gradient)
//   without momentum:  p ← p − lr·d
//   with momentum μ:   v ← μ·v + d,  p ← p − lr·v          (v starts at 0; PyTorch's form)
//   Nesterov:          v ← μ·v + d,  p ← p − lr·(d + μ·v)  (PyTorch's nesterov = True)
//
//   auto m = instantiate(net, 64);
//   maso::sgd opt(m, {.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f});
//   m.zero_gradients(); m.forward(images, labels); m.backward(); opt.step();
//
// The velocity is allocated when the optimiser is built (only if μ > 0); step() allocates
// nothing. The optimiser keeps spans into the model's parameter and gradient buffers: the
// model must outlive it. Built from a model, weight decay leaves the θ of learnable β-VQ βs
// alone unless decay_beta is set: decay would pull θ to 0, β to ½, which neither the paper
// nor its authors' code does; built from two spans it applies to every value alike.
//
// step() cuts the parameters into fixed blocks and spreads them over the thread pool; each
// element goes through the same SIMD code whichever thread runs its block, so the result is
// bitwise the same at any thread count (train/detail/parameter_blocks.hpp).
//
// For checkpoints (io/checkpoint.hpp), state_dict() names the velocity per parameter,
// "optimizer.momentum_buffer.<parameter>" as PyTorch's SGD calls it, and step_count() counts
// the steps taken. set_learning_rate() changes lr between steps, for a schedule
// (train/schedule.hpp). Options are checked at construction and by set_learning_rate: a
// learning rate that is not a finite positive number, a momentum outside [0, 1), Nesterov
// without momentum, or a negative or NaN weight decay throws maso::value_error naming the
// option and its value. Options are doubles, as PyTorch's; the step works in float.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/parameter_kind.hpp>
#include <maso/simd/batch_loop.hpp>
#include <maso/train/detail/parameter_blocks.hpp>
#include <maso/train/parameter.hpp>

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace maso {

struct sgd_options {
    double learning_rate = 0.01; ///< lr, finite and > 0
    double momentum = 0;         ///< μ in [0, 1); 0 is plain SGD
    bool nesterov = false;       ///< Nesterov momentum (needs μ > 0)
    double weight_decay = 0;     ///< wd ≥ 0, the L2 coefficient added to each gradient
    bool decay_beta = false;     ///< weight decay on the θ of learnable βs too (models only)
};

class sgd {
public:
    static constexpr const char* name() noexcept { return "sgd"; }

    /// An optimiser for a model (anything with parameters(), gradients() and state_dict()).
    template <class Model>
    requires requires(Model& m) {
        { m.parameters() } -> std::convertible_to<std::span<float>>;
        { m.gradients() } -> std::convertible_to<std::span<float>>;
        m.state_dict();
    }
    explicit sgd(Model& model, sgd_options o = {})
        : sgd(model.parameters(), model.gradients(), o, detail::optimised_tensors(model)) {}

    /// An optimiser for one parameter span and its gradient span (same length); its state is
    /// named as one tensor, "parameters".
    sgd(std::span<float> parameters, std::span<const float> gradients, sgd_options o = {})
        : sgd(parameters, gradients, o, detail::one_tensor(parameters.size())) {}

    /// One update of every parameter from the current gradients. Allocates nothing; throws
    /// only if the thread pool cannot start its threads.
    void step() {
        const float lr = float(options_.learning_rate), mu = float(options_.momentum);
        float* const p = params_.data();
        const float* const g = grads_.data();
        float* const v = velocity_.data();
        const bool momentum = !velocity_.empty(), nesterov = options_.nesterov;
        detail::for_each_block(blocks_, [=](const detail::update_block& b) {
            const std::size_t n = b.end - b.begin, i = b.begin;
            const float wd = float(b.weight_decay);
            const auto arch = xsimd::default_arch{};
            if (!momentum) {
                simd::fused_loop(arch, n, std::array<const float*, 2>{p + i, g + i},
                                 std::array<float*, 1>{p + i}, [=](const auto& x, auto&) {
                                     using V = std::decay_t<decltype(x[0])>;
                                     return std::array<V, 1>{x[0] - V(lr) * (x[1] + V(wd) * x[0])};
                                 });
            } else {
                simd::fused_loop(arch, n, std::array<const float*, 3>{p + i, g + i, v + i},
                                 std::array<float*, 2>{p + i, v + i}, [=](const auto& x, auto&) {
                                     using V = std::decay_t<decltype(x[0])>;
                                     const V d = x[1] + V(wd) * x[0];
                                     const V vel = V(mu) * x[2] + d;
                                     const V dir = nesterov ? V(d + V(mu) * vel) : vel;
                                     return std::array<V, 2>{x[0] - V(lr) * dir, vel};
                                 });
            }
        });
        ++steps_;
    }

    const sgd_options& options() const noexcept { return options_; }
    double learning_rate() const noexcept { return options_.learning_rate; }
    /// Sets lr for the next steps (a schedule's value); refused as at construction.
    void set_learning_rate(double lr) {
        check_learning_rate(lr);
        options_.learning_rate = lr;
    }

    /// The momentum buffer v (empty without momentum), laid out as the parameters.
    std::span<const float> velocity() const noexcept { return velocity_; }
    /// Sets v to 0, as at construction.
    void reset_velocity() noexcept {
        for (auto& v : velocity_)
            v = 0.f;
    }

    /// Steps taken since construction (or since set_step_count).
    std::uint64_t step_count() const noexcept { return steps_; }
    void set_step_count(std::uint64_t n) noexcept { steps_ = n; }

    /// The state a checkpoint saves: "optimizer.momentum_buffer.<parameter>" per trainable
    /// tensor (none without momentum), spans into the optimiser. Writing through them sets it.
    std::vector<parameter_ref<float>> state_dict() {
        std::vector<parameter_ref<float>> out;
        if (!velocity_.empty()) detail::name_state(out, tensors_, "momentum_buffer", velocity_);
        return out;
    }

    /// The options as a JSON object, for a checkpoint's metadata.
    std::string options_json() const {
        const sgd_options& o = options_;
        return "{\"learning_rate\":" + detail::shortest(o.learning_rate) +
               ",\"momentum\":" + detail::shortest(o.momentum) +
               ",\"nesterov\":" + (o.nesterov ? "true" : "false") +
               ",\"weight_decay\":" + detail::shortest(o.weight_decay) +
               ",\"decay_beta\":" + (o.decay_beta ? "true" : "false") + "}";
    }

    /// Throws maso::value_error if an option is outside its domain (NaN included).
    static void validate(const sgd_options& o) {
        check_learning_rate(o.learning_rate);
        if (!(o.momentum >= 0 && o.momentum < 1))
            detail::refuse_option("sgd", "momentum", o.momentum, "is outside [0, 1)");
        if (o.nesterov && !(o.momentum > 0))
            throw value_error("maso: sgd: nesterov = true needs momentum > 0 (momentum = " +
                              detail::shortest(o.momentum) + ")");
        if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
            detail::refuse_option("sgd", "weight_decay", o.weight_decay,
                                  "must be finite and non-negative");
    }

private:
    sgd(std::span<float> parameters, std::span<const float> gradients, sgd_options o,
        std::vector<detail::optimised_tensor> tensors)
        : params_(parameters), grads_(gradients), options_(o), tensors_(std::move(tensors)) {
        validate(o);
        detail::check_same_size(params_.size(), grads_.size(), "sgd: the gradient span");
        if (options_.momentum > 0) velocity_.assign(params_.size(), 0.f);
        blocks_ = detail::update_blocks(tensors_, o.weight_decay, o.decay_beta);
    }

    static void check_learning_rate(double lr) {
        if (!(std::isfinite(lr) && lr > 0))
            detail::refuse_option("sgd", "learning_rate", lr, "must be finite and positive");
    }

    std::span<float> params_;
    std::span<const float> grads_;
    sgd_options options_;
    std::vector<detail::optimised_tensor> tensors_;
    std::vector<detail::update_block> blocks_;
    std::vector<float> velocity_;
    std::uint64_t steps_ = 0;
};

} // namespace maso
