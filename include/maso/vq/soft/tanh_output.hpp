// maso/vq/soft/tanh_output.hpp — tanh as a soft-layer output (paper-spec §4.7, App. E.6).
//
// The reparametrisation tanh(u) = 2σ(2u) − 1: the absolute-value unit has regions
// ±z, its active probability is p_1 = σ(2ηz), and p_1 − p_0 = 2p_1 − 1 = tanh(ηz).
// So tanh is the readout (−1, +1) of |·|'s posterior; at β = ½ it is tanh(z).
#pragma once

#include <maso/vq/units/absolute.hpp>

#include <array>

namespace maso::vq {

struct tanh_output {
    using unit_type = absolute;
    static constexpr std::array<double, 2> weight{-1.0, 1.0};
    static constexpr const char* name() noexcept { return "tanh"; }
};

} // namespace maso::vq
