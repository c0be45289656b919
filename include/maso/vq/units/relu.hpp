// maso/vq/units/relu.hpp — ReLU, max(0, z), as a two-region spline unit.
//
// paper-spec §4.1: region 0 is the inactive piece 0, region 1 the active piece z.
//   hard:  max(z, 0)
//   β-VQ:  z·σ(ηz), swish with η = β/(1−β)                   (Prop. 7)
//   β = ½: z·σ(z), the sigmoid-weighted linear unit (SiLU)    (Prop. 3)
//   soft layer output p_1 = σ(ηz): the sigmoid               (Prop. 5)
#pragma once

#include <cstddef>

namespace maso::vq {

struct relu {
    static constexpr std::size_t inputs = 1;
    static constexpr std::size_t regions = 2;
    static constexpr const char* name() noexcept { return "relu"; }

    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return r == 0 ? T(0) : T(1);
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }
};

} // namespace maso::vq

namespace maso {
using vq::relu; // its short name in networks: beta_vq<relu>(0.9f)
} // namespace maso
