// maso/train/adam.hpp — Adam, AdamW and the paper authors' Adam without bias correction.
//
// One step, t = 1, 2, … (step_count() after it), for every trainable tensor of a model:
//
//   g ← g + wd·p                    (L2 weight decay: Adam, decoupled_weight_decay = false)
//   p ← p·(1 − lr·wd)               (decoupled: AdamW, decoupled_weight_decay = true)
//   m ← β₁·m + (1 − β₁)·g
//   u ← β₂·u + (1 − β₂)·g²
//   p ← p − lr/c₁ · m / (√u/√c₂ + ε),   c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ   (bias_correction = true)
//   p ← p − lr · m / (√u + ε)                                        (bias_correction = false)
//
// With the defaults (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) and bias_correction = false this is the
// optimiser of the paper's experiments, the authors' own Adam (paper-spec §7): m ← 0.9m + 0.1g,
// u ← 0.999u + 0.001g², θ ← θ − lr·m/(√u + 1e-8). With bias correction it is PyTorch's Adam
// and, with decoupled decay, its AdamW (the same order of operations, in float).
//
//   maso::adam opt(m, {.learning_rate = 1e-3f, .bias_correction = false}); // the authors'
//   maso::adam opt(m, {.learning_rate = 1e-3f, .weight_decay = 0.01f,
//                      .decoupled_weight_decay = true});                   // AdamW
//
// As for sgd (train/sgd.hpp): weight decay leaves the θ of learnable βs alone unless
// decay_beta; m and u are allocated at construction and step() allocates nothing; the step
// is bitwise the same at any thread count; set_learning_rate() serves a schedule;
// state_dict() names m and u per parameter as PyTorch does, "optimizer.exp_avg.<parameter>"
// and "optimizer.exp_avg_sq.<parameter>", and step_count() is t. Options are checked at
// construction (options are doubles, as PyTorch's, and the step works in float): a learning
// rate or ε that is not finite and positive, a β₁ or β₂ outside
// [0, 1), or a negative or non-finite weight decay throws maso::value_error naming it.
#pragma once

#include <maso/core/error.hpp>
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

struct adam_options {
    double learning_rate = 1e-3;         ///< lr, finite and > 0
    double beta1 = 0.9;                  ///< β₁ in [0, 1), the decay of the mean m
    double beta2 = 0.999;                ///< β₂ in [0, 1), the decay of the square mean u
    double epsilon = 1e-8;               ///< ε, finite and > 0
    double weight_decay = 0;             ///< wd ≥ 0
    bool decoupled_weight_decay = false; ///< AdamW: p ← p·(1 − lr·wd) instead of g + wd·p
    bool bias_correction = true;         ///< false: the paper authors' Adam
    bool decay_beta = false;             ///< weight decay on the θ of learnable βs too
};

class adam {
public:
    static constexpr const char* name() noexcept { return "adam"; }

    /// An optimiser for a model (anything with parameters(), gradients() and state_dict()).
    template <class Model>
    requires requires(Model& m) {
        { m.parameters() } -> std::convertible_to<std::span<float>>;
        { m.gradients() } -> std::convertible_to<std::span<float>>;
        m.state_dict();
    }
    explicit adam(Model& model, adam_options o = {})
        : adam(model.parameters(), model.gradients(), o, detail::optimised_tensors(model)) {}

    /// An optimiser for one parameter span and its gradient span (same length); its state is
    /// named as one tensor, "parameters".
    adam(std::span<float> parameters, std::span<const float> gradients, adam_options o = {})
        : adam(parameters, gradients, o, detail::one_tensor(parameters.size())) {}

    /// One update of every parameter from the current gradients. Allocates nothing; throws
    /// only if the thread pool cannot start its threads.
    void step() {
        const adam_options& o = options_;
        const double t = double(steps_ + 1);
        // The step's scalars in double, then rounded once, as PyTorch computes them.
        // 1 − β is taken in double too: in float, 1 − 0.999f is 1.3e-5 away from 0.001.
        const double c1 = o.bias_correction ? 1 - std::pow(o.beta1, t) : 1;
        const double c2 = o.bias_correction ? 1 - std::pow(o.beta2, t) : 1;
        const float step_size = float(o.learning_rate / c1);
        const float c2_root = float(std::sqrt(c2));
        const float b1 = float(o.beta1), b2 = float(o.beta2), eps = float(o.epsilon);
        const float one_minus_b1 = float(1 - o.beta1), one_minus_b2 = float(1 - o.beta2);
        const bool decoupled = o.decoupled_weight_decay;
        const double lr = o.learning_rate;
        float* const p = params_.data();
        const float* const g = grads_.data();
        float* const m = exp_avg_.data();
        float* const u = exp_avg_sq_.data();
        detail::for_each_block(blocks_, [=](const detail::update_block& b) {
            const std::size_t i = b.begin;
            // L2 decay joins the gradient; decoupled decay shrinks p first (factor 1 for none).
            const float l2 = decoupled ? 0.f : float(b.weight_decay);
            const float shrink = decoupled ? float(1 - lr * b.weight_decay) : 1.f;
            simd::fused_loop(
                xsimd::default_arch{}, b.end - b.begin,
                std::array<const float*, 4>{p + i, g + i, m + i, u + i},
                std::array<float*, 3>{p + i, m + i, u + i}, [=](const auto& x, auto&) {
                    using V = std::decay_t<decltype(x[0])>;
                    using std::sqrt;
                    const V grad = x[1] + V(l2) * x[0];
                    const V param = x[0] * V(shrink);
                    const V mean = V(b1) * x[2] + V(one_minus_b1) * grad;
                    const V square = V(b2) * x[3] + V(one_minus_b2) * (grad * grad);
                    const V denom = sqrt(square) / V(c2_root) + V(eps);
                    return std::array<V, 3>{param - V(step_size) * (mean / denom), mean, square};
                });
        });
        ++steps_;
    }

    const adam_options& options() const noexcept { return options_; }
    double learning_rate() const noexcept { return options_.learning_rate; }
    /// Sets lr for the next steps (a schedule's value); refused as at construction.
    void set_learning_rate(double lr) {
        check_learning_rate(lr);
        options_.learning_rate = lr;
    }

    /// m and u, laid out as the parameters.
    std::span<const float> exp_avg() const noexcept { return exp_avg_; }
    std::span<const float> exp_avg_sq() const noexcept { return exp_avg_sq_; }

    /// t, the steps taken since construction (or since set_step_count): the bias correction
    /// of the next step uses t + 1.
    std::uint64_t step_count() const noexcept { return steps_; }
    void set_step_count(std::uint64_t n) noexcept { steps_ = n; }

    /// The state a checkpoint saves: "optimizer.exp_avg.<parameter>" then
    /// "optimizer.exp_avg_sq.<parameter>" per trainable tensor, spans into the optimiser.
    /// Writing through them sets it.
    std::vector<parameter_ref<float>> state_dict() {
        std::vector<parameter_ref<float>> out;
        detail::name_state(out, tensors_, "exp_avg", exp_avg_);
        detail::name_state(out, tensors_, "exp_avg_sq", exp_avg_sq_);
        return out;
    }

    /// The options as a JSON object, for a checkpoint's metadata.
    std::string options_json() const {
        const adam_options& o = options_;
        const auto flag = [](bool b) { return b ? "true" : "false"; };
        return "{\"learning_rate\":" + detail::shortest(o.learning_rate) +
               ",\"beta1\":" + detail::shortest(o.beta1) +
               ",\"beta2\":" + detail::shortest(o.beta2) +
               ",\"epsilon\":" + detail::shortest(o.epsilon) +
               ",\"weight_decay\":" + detail::shortest(o.weight_decay) +
               ",\"decoupled_weight_decay\":" + flag(o.decoupled_weight_decay) +
               ",\"bias_correction\":" + flag(o.bias_correction) +
               ",\"decay_beta\":" + flag(o.decay_beta) + "}";
    }

    /// Throws maso::value_error if an option is outside its domain (NaN included).
    static void validate(const adam_options& o) {
        check_learning_rate(o.learning_rate);
        if (!(o.beta1 >= 0 && o.beta1 < 1))
            detail::refuse_option("adam", "beta1", o.beta1, "is outside [0, 1)");
        if (!(o.beta2 >= 0 && o.beta2 < 1))
            detail::refuse_option("adam", "beta2", o.beta2, "is outside [0, 1)");
        if (!(std::isfinite(o.epsilon) && o.epsilon > 0))
            detail::refuse_option("adam", "epsilon", o.epsilon, "must be finite and positive");
        if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
            detail::refuse_option("adam", "weight_decay", o.weight_decay,
                                  "must be finite and non-negative");
    }

private:
    adam(std::span<float> parameters, std::span<const float> gradients, adam_options o,
         std::vector<detail::optimised_tensor> tensors)
        : params_(parameters), grads_(gradients), options_(o), tensors_(std::move(tensors)) {
        validate(o);
        detail::check_same_size(params_.size(), grads_.size(), "adam: the gradient span");
        exp_avg_.assign(params_.size(), 0.f);
        exp_avg_sq_.assign(params_.size(), 0.f);
        blocks_ = detail::update_blocks(tensors_, o.weight_decay, o.decay_beta);
    }

    static void check_learning_rate(double lr) {
        if (!(std::isfinite(lr) && lr > 0))
            detail::refuse_option("adam", "learning_rate", lr, "must be finite and positive");
    }

    std::span<float> params_;
    std::span<const float> grads_;
    adam_options options_;
    std::vector<detail::optimised_tensor> tensors_;
    std::vector<detail::update_block> blocks_;
    std::vector<float> exp_avg_, exp_avg_sq_;
    std::uint64_t steps_ = 0;
};

} // namespace maso
