// maso/vq/units/two_knot.hpp — max(0, z, 2z − 1), a convex spline with two knots.
#pragma once

#include <cstddef>

namespace maso::vq {

struct two_knot {
    static constexpr std::size_t inputs = 1;
    static constexpr std::size_t regions = 3;
    static constexpr const char* name() noexcept { return "two_knot"; }

    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return T(r); // 0, 1, 2
    }
    template <class T>
    constexpr T offset(std::size_t r) const noexcept {
        return r == 2 ? T(-1) : T(0);
    }
};

} // namespace maso::vq

namespace maso {
using vq::two_knot; // its short name in networks: beta_vq<two_knot>(0.6f)
} // namespace maso
