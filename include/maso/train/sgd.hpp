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
// gradient buffers: the model must outlive it. Built from a model, weight decay
// leaves the θ of learnable β-VQ βs alone unless decay_beta is set: decay would pull
// θ to 0, β to ½, which neither the paper nor its authors' code does; built from two
// spans it applies to every value alike. step() runs on
// the calling thread: it is one pass over memory, small beside a training step.
// Options are checked at construction: a learning rate that is not a finite
// positive number, a momentum outside [0, 1) or a negative or NaN weight decay
// throws maso::value_error naming the option and its value.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/parameter_kind.hpp>

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
    bool decay_beta = false;     ///< weight decay on the θ of learnable βs too (models only)
};

class sgd {
public:
    /// An optimiser for a model (anything with parameters() and gradients() spans).
    template <class Model>
    requires requires(Model& m) {
        { m.parameters() } -> std::convertible_to<std::span<float>>;
        { m.gradients() } -> std::convertible_to<std::span<float>>;
        m.state_dict();
    }
    explicit sgd(Model& model, sgd_options o = {}) : sgd(model.parameters(), model.gradients(), o) {
        if (o.decay_beta || o.weight_decay == 0.f) return;
        // θ ranges of the parameter buffer get no decay: the segments between them keep it.
        std::vector<segment> split;
        std::size_t at = 0;
        for (const auto& p : model.state_dict()) {
            if (p.kind != parameter_kind::beta) continue;
            const auto begin = std::size_t(p.value.data() - params_.data());
            if (begin > at) split.push_back({at, begin, o.weight_decay});
            split.push_back({begin, begin + p.value.size(), 0.f});
            at = begin + p.value.size();
        }
        if (at < params_.size()) split.push_back({at, params_.size(), o.weight_decay});
        segments_ = std::move(split);
    }

    /// An optimiser for one parameter span and its gradient span (same length).
    sgd(std::span<float> parameters, std::span<const float> gradients, sgd_options o = {})
        : params_(parameters), grads_(gradients), options_(o) {
        validate(o);
        detail::check_same_size(params_.size(), grads_.size(), "sgd: the gradient span");
        if (options_.momentum > 0.f) velocity_.assign(params_.size(), 0.f);
        segments_.push_back({0, params_.size(), o.weight_decay});
    }

    /// One update of every parameter from the current gradients. Allocates nothing.
    void step() noexcept {
        float* p = params_.data();
        const float* g = grads_.data();
        const float lr = options_.learning_rate, mu = options_.momentum;
        float* v = velocity_.data();
        for (const segment& s : segments_) {
            const float wd = s.weight_decay;
            if (velocity_.empty()) {
                for (std::size_t i = s.begin; i < s.end; ++i)
                    p[i] -= lr * (g[i] + wd * p[i]);
            } else {
                for (std::size_t i = s.begin; i < s.end; ++i) {
                    v[i] = mu * v[i] + (g[i] + wd * p[i]);
                    p[i] -= lr * v[i];
                }
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

    /// Values [begin, end) of the parameters, with the weight decay they take.
    struct segment {
        std::size_t begin, end;
        float weight_decay;
    };

    std::span<float> params_;
    std::span<const float> grads_;
    sgd_options options_;
    std::vector<float> velocity_;
    std::vector<segment> segments_;
};

} // namespace maso
