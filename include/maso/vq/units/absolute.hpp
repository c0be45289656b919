// maso/vq/units/absolute.hpp — absolute value |z| as a two-region spline unit.
//
// paper-spec §4.3: regions −z and z.
//   β-VQ:  z·tanh(ηz)  (p_1 = σ(2ηz), y = z(2p_1 − 1));  β = 0: 0;  β = ½: z·tanh(z).
// Named `absolute` so that it never shadows std::abs inside maso.
#pragma once

#include <cstddef>

namespace maso::vq {

struct absolute {
    static constexpr std::size_t inputs = 1;
    static constexpr std::size_t regions = 2;
    static constexpr const char* name() noexcept { return "absolute"; }

    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return r == 0 ? T(-1) : T(1);
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }
};

} // namespace maso::vq

namespace maso {
using vq::absolute; // its short name in networks: hard_vq<absolute>()
} // namespace maso
