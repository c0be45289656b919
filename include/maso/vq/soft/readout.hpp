// maso/vq/soft/readout.hpp — scalar soft-layer outputs of two-region units.
//
// A readout S names a unit (S::unit_type) and weights w; its output is
// Σ_r w_r p_r, with p the unit's β-VQ posterior. sigmoid_output and tanh_output
// are readouts; their forward and backward here come from vq/derive.hpp alone.
#pragma once

#include <maso/vq/derive.hpp>

namespace maso::vq {

template <class S>
concept two_region_readout = elementwise_unit<typename S::unit_type> &&
                             (S::unit_type::regions == 2) &&
                             (S::weight.size() == 2);

template <two_region_readout S, class T>
T readout_forward(T z, T eta) {
    const auto p = soft_forward(typename S::unit_type{}, std::array<T, 1>{z}, eta);
    return T(S::weight[0]) * p[0] + T(S::weight[1]) * p[1];
}

template <two_region_readout S, class T>
unit_gradient<T, 1> readout_backward(T z, T eta, T dy) {
    return soft_backward(typename S::unit_type{}, std::array<T, 1>{z}, eta,
                         std::array<T, 2>{dy * T(S::weight[0]), dy * T(S::weight[1])});
}

} // namespace maso::vq
