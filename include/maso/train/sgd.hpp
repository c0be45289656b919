// maso/train/sgd.hpp — plain stochastic gradient descent, with momentum and weight decay.
//
// One step updates every parameter of a model (weights, biases, batch-norm γ and β,
// learnable β-VQ θ) from the gradient the last backward pass left in gradients():
//
//   d = g + wd·p                     (L2 weight decay, added to the gradient)
//   without momentum:  p ← p − lr·d
//   with momentum μ:   v ← μ·v + d,  p ← p − lr·v      (v starts at 0; PyTorch's form)
//
//   auto m = instantiate(net, 64);
//   maso::sgd opt(m, {.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f});
//   m.zero_gradients(); m.forward(images, labels); m.backward(); opt.step();
//
// The velocity is allocated when the optimiser is built (only if μ > 0); step()
// allocates nothing. The optimiser keeps spans into the model's parameter and
// gradient buffers: the model must outlive it. Weight decay applies to every
// parameter alike (there is no per-node exclusion of biases or θ). step() runs on
// the calling thread: it is one pass over memory, small beside a training step.
// Options are checked at construction: a learning rate that is not a finite
// positive number, a momentum outside [0, 1) or a negative or NaN weight decay
// throws maso::value_error naming the option and its value.
#pragma once

#include <maso/core/error.hpp>

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace maso {

struct sgd_options {
    float learning_rate = 0.01f; ///< lr, finite and > 0
    float momentum = 0.f;        ///< μ in [0, 1); 0 is plain SGD
    float weight_decay = 0.f;    ///< wd ≥ 0, the L2 coefficient added to each gradient
};

class sgd {
public:
    /// An optimiser for a model (anything with parameters() and gradients() spans).
    template <class Model>
    requires requires(Model& m) {
        { m.parameters() } -> std::convertible_to<std::span<float>>;
        { m.gradients() } -> std::convertible_to<std::span<float>>;
    }
    explicit sgd(Model& model, sgd_options o = {})
        : sgd(model.parameters(), model.gradients(), o) {}

    /// An optimiser for one parameter span and its gradient span (same length).
    sgd(std::span<float> parameters, std::span<const float> gradients, sgd_options o = {})
        : params_(parameters), grads_(gradients), options_(o) {
        validate(o);
        detail::check_same_size(params_.size(), grads_.size(), "sgd: the gradient span");
        if (options_.momentum > 0.f) velocity_.assign(params_.size(), 0.f);
    }

    /// One update of every parameter from the current gradients. Allocates nothing.
    void step() noexcept {
        float* p = params_.data();
        const float* g = grads_.data();
        const std::size_t n = params_.size();
        const float lr = options_.learning_rate, wd = options_.weight_decay;
        if (velocity_.empty()) {
            for (std::size_t i = 0; i < n; ++i)
                p[i] -= lr * (g[i] + wd * p[i]);
        } else {
            float* v = velocity_.data();
            const float mu = options_.momentum;
            for (std::size_t i = 0; i < n; ++i) {
                v[i] = mu * v[i] + (g[i] + wd * p[i]);
                p[i] -= lr * v[i];
            }
        }
    }

    const sgd_options& options() const noexcept { return options_; }
    /// The momentum buffer v (empty without momentum).
    std::span<const float> velocity() const noexcept { return velocity_; }
    /// Sets v to 0, as at construction.
    void reset_velocity() noexcept {
        for (auto& v : velocity_)
            v = 0.f;
    }

    /// Throws maso::value_error if an option is outside its domain (NaN included).
    static void validate(const sgd_options& o) {
        if (!(std::isfinite(o.learning_rate) && o.learning_rate > 0.f))
            refuse("learning_rate", o.learning_rate, "must be finite and positive");
        if (!(o.momentum >= 0.f && o.momentum < 1.f))
            refuse("momentum", o.momentum, "is outside [0, 1)");
        if (!(o.weight_decay >= 0.f) || !std::isfinite(o.weight_decay))
            refuse("weight_decay", o.weight_decay, "must be finite and non-negative");
    }

private:
    [[noreturn]] static void refuse(const char* option, float value, const char* what) {
        char digits[32]; // shortest round-trip form: 0.01, -0.5, inf, nan
        const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
        throw value_error(std::string("maso: sgd: ") + option + " = " + std::string(digits, end) +
                          " " + what);
    }

    std::span<float> params_;
    std::span<const float> grads_;
    sgd_options options_;
    std::vector<float> velocity_;
};

} // namespace maso
