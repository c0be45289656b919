// maso/vq/units/leaky_relu.hpp — leaky ReLU, max(a·z, z), slope a ∈ [0, 1).
//
// paper-spec §4.2: regions a·z and z.
//   β-VQ:  z·(a + (1−a)·σ(η(1−a)z));   β = 0: (1+a)z/2.
#pragma once

#include <maso/core/error.hpp>

#include <cstddef>
#include <string>

namespace maso::vq {

struct leaky_relu {
    static constexpr std::size_t inputs = 1;
    static constexpr std::size_t regions = 2;
    static constexpr const char* name() noexcept { return "leaky_relu"; }

    /// The slope of the negative side. a ≥ 1 would swap which region is the max,
    /// so it is refused with maso::value_error, as is a negative or NaN a.
    explicit leaky_relu(double a = 0.01) : a_(a) {
        if (!(a >= 0.0 && a < 1.0))
            throw value_error("maso: leaky_relu slope a = " + std::to_string(a) +
                              " is outside [0, 1)");
    }
    double negative_slope() const noexcept { return a_; }

    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return r == 0 ? T(a_) : T(1);
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }

private:
    double a_;
};

} // namespace maso::vq

namespace maso {
using vq::leaky_relu; // its short name in networks: hard_vq(leaky_relu{0.1})
} // namespace maso
