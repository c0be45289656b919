// maso/train/schedule.hpp — learning-rate schedules: the learning rate as a pure function of
// the step.
//
//   constant_lr(lr)                  lr
//   step_lr(lr, every, γ)            lr·γ^⌊t/every⌋
//   cosine_lr(lr, steps, min)        min + (lr − min)·(1 + cos(π·min(t, steps)/steps))/2,
//                                    then min from t = steps on
//   linear_warmup(w, after)          after(0)·(t + 1)/w for t < w, then after(t − w)
//
// t is the number of steps taken before the one the rate is for (0 for the first, an
// optimiser's step_count()). A warm-up wraps any schedule and delays it by w steps, so
// linear_warmup(500, cosine_lr(1e-3, 9500)) rises for 500 steps and then decays over 9500.
// The first warm-up step already trains (at after(0)/w) and step w − 1 reaches after(0).
//
//   const maso::schedule lr = maso::linear_warmup(500, maso::cosine_lr(1e-3, 9500));
//   opt.set_learning_rate(float(lr(opt.step_count())));
//   opt.step();
//
// A schedule holds no state: resuming from a checkpoint needs only the step. The
// paper's authors train at a constant rate (paper-spec §7). A factory refuses a rate that is
// not finite and positive, a minimum outside [0, lr], a γ that is not finite and positive, and
// step counts of 0, with maso::value_error naming the function, the option and its value.
// describe() spells a schedule out, for logs and checkpoints: "linear_warmup(500,
// cosine_lr(0.001, 9500, 0))".
#pragma once

#include <maso/core/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <string>
#include <utility>

namespace maso {

class schedule {
public:
    /// The learning rate for the step taken after `step` others.
    double operator()(std::uint64_t step) const noexcept {
        switch (kind_) {
        case kind::constant:
            return lr_;
        case kind::step:
            return lr_ * std::pow(factor_, double(step / steps_));
        case kind::cosine: {
            const double done = double(std::min(step, steps_)) / double(steps_);
            return factor_ + (lr_ - factor_) * (1 + std::cos(std::numbers::pi * done)) / 2;
        }
        case kind::warmup:
            return step < steps_ ? (*after_)(0) * double(step + 1) / double(steps_)
                                 : (*after_)(step - steps_);
        }
        return lr_;
    }

    /// The schedule as the call that builds it, numbers in their shortest round-trip form.
    std::string describe() const {
        switch (kind_) {
        case kind::constant:
            return "constant_lr(" + text(lr_) + ")";
        case kind::step:
            return "step_lr(" + text(lr_) + ", " + std::to_string(steps_) + ", " + text(factor_) +
                   ")";
        case kind::cosine:
            return "cosine_lr(" + text(lr_) + ", " + std::to_string(steps_) + ", " + text(factor_) +
                   ")";
        case kind::warmup:
            return "linear_warmup(" + std::to_string(steps_) + ", " + after_->describe() + ")";
        }
        return "";
    }

    friend schedule constant_lr(double lr);
    friend schedule step_lr(double lr, std::uint64_t every, double gamma);
    friend schedule cosine_lr(double lr, std::uint64_t steps, double min_lr);
    friend schedule linear_warmup(std::uint64_t steps, schedule after);

private:
    enum class kind { constant, step, cosine, warmup };

    schedule(kind k, double lr, std::uint64_t steps, double factor,
             std::shared_ptr<const schedule> after = nullptr)
        : kind_(k), lr_(lr), steps_(steps), factor_(factor), after_(std::move(after)) {}

    static std::string text(double v) {
        char digits[32];
        return std::string(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
    }

    [[noreturn]] static void refuse(const char* who, const char* option, const std::string& value,
                                    const char* what) {
        throw value_error(std::string("maso: ") + who + ": " + option + " = " + value + " " + what);
    }
    static void check_rate(const char* who, double lr) {
        if (!(std::isfinite(lr) && lr > 0))
            refuse(who, "lr", text(lr), "must be finite and positive");
    }
    static void check_steps(const char* who, const char* option, std::uint64_t n) {
        if (n == 0) refuse(who, option, "0", "must be at least 1");
    }

    kind kind_;
    double lr_;           ///< the rate (constant, step, cosine)
    std::uint64_t steps_; ///< every (step), steps (cosine), warm-up steps (warmup)
    double factor_;       ///< γ (step), the minimum (cosine)
    std::shared_ptr<const schedule> after_; ///< warmup: what follows
};

/// lr at every step.
inline schedule constant_lr(double lr) {
    schedule::check_rate("constant_lr", lr);
    return {schedule::kind::constant, lr, 1, 1};
}

/// lr·γ^⌊t/every⌋: the rate multiplied by γ every `every` steps.
inline schedule step_lr(double lr, std::uint64_t every, double gamma) {
    schedule::check_rate("step_lr", lr);
    schedule::check_steps("step_lr", "every", every);
    if (!(std::isfinite(gamma) && gamma > 0))
        schedule::refuse("step_lr", "gamma", schedule::text(gamma), "must be finite and positive");
    return {schedule::kind::step, lr, every, gamma};
}

/// Half a cosine from lr down to min_lr over `steps` steps, then min_lr.
inline schedule cosine_lr(double lr, std::uint64_t steps, double min_lr = 0) {
    schedule::check_rate("cosine_lr", lr);
    schedule::check_steps("cosine_lr", "steps", steps);
    if (!(min_lr >= 0 && min_lr <= lr))
        schedule::refuse("cosine_lr", "min_lr", schedule::text(min_lr),
                         ("is outside [0, lr = " + schedule::text(lr) + "]").c_str());
    return {schedule::kind::cosine, lr, steps, min_lr};
}

/// A linear rise to after(0) over `steps` steps, then `after` delayed by `steps`.
inline schedule linear_warmup(std::uint64_t steps, schedule after) {
    schedule::check_steps("linear_warmup", "steps", steps);
    return {schedule::kind::warmup, 0, steps, 0,
            std::make_shared<const schedule>(std::move(after))};
}

} // namespace maso
