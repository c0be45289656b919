// maso/expr/beta_spec.hpp — how a layer's β is given: fixed or learnable, per
// layer or per channel.
//
//   beta_vq<relu>(0.9f)                          β fixed at 0.9
//   beta_vq<relu>(learnable(0.5f))               one learnable β for the layer
//   beta_vq<relu>(learnable_per_channel(0.5f))   one learnable β per channel
//
// A learnable β is stored as θ with β = σ(θ) (vq/beta.hpp) in the model's
// parameters, so the optimiser sees θ and η = e^θ never meets 1/(1−β).
#pragma once

#include <maso/core/error.hpp>

#include <charconv>
#include <string>

namespace maso {

struct beta_spec {
    float value = 0.5f;
    bool learnable = false;
    bool per_channel = false;

    constexpr beta_spec(float b = 0.5f, bool learn = false, bool per_ch = false)
        : value(b), learnable(learn), per_channel(per_ch) {}

    /// Number of θ parameters for a layer of `channels` channels.
    constexpr std::size_t parameter_count(std::size_t channels) const noexcept {
        return learnable ? (per_channel ? channels : 1) : 0;
    }
    /// "β = 0.5, learnable per channel": for names and plans (shortest round-trip digits).
    std::string label() const {
        char digits[32];
        const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
        std::string s = "β = " + std::string(digits, end);
        if (learnable) s += per_channel ? ", learnable per channel" : ", learnable";
        return s;
    }
    /// β in [0, 1]; a learnable β must stay below 1 (θ = +∞ cannot be trained).
    void validate(const char* where) const {
        if (!(value >= 0.f && value <= 1.f))
            throw value_error(std::string("maso: ") + where + ": beta = " + std::to_string(value) +
                              " is outside [0, 1]");
        if (learnable && value >= 1.f)
            throw value_error(std::string("maso: ") + where +
                              ": a learnable beta must start below 1 (beta = 1 is the hard path; "
                              "use hard_vq)");
        if (learnable && value <= 0.f)
            throw value_error(std::string("maso: ") + where +
                              ": a learnable beta must start above 0 (at beta = 0, theta = -inf "
                              "and its gradient is 0, so it would never move)");
    }
};

constexpr beta_spec learnable(float b) { return {b, true, false}; }
constexpr beta_spec learnable_per_channel(float b) { return {b, true, true}; }

} // namespace maso
