// maso/vq/soft/sigmoid_output.hpp — the sigmoid as ReLU's soft-layer output.
//
// paper-spec §4.7, Prop. 5: take the ReLU unit and output the probability of its
// active region instead of the value: p_1 = σ(ηz) (σ(z) at β = ½).
#pragma once

#include <maso/vq/units/relu.hpp>

#include <array>

namespace maso::vq {

struct sigmoid_output {
    using unit_type = relu;
    /// output = Σ_r weight[r] p_r
    static constexpr std::array<double, 2> weight{0.0, 1.0};
    static constexpr const char* name() noexcept { return "sigmoid"; }
};

} // namespace maso::vq
