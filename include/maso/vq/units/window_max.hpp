// maso/vq/units/window_max.hpp — max over a pooling window of R entries.
//
// paper-spec §4.4: unit k ↔ window P_k, region r is the entry v_{i_r} (A = e_{i_r}, B = 0).
//   hard:  max pooling
//   β-VQ:  β-softmax pooling, Σ softmax(η v)_r v_r;  β = ½ softmax pooling (Prop. 4);
//          β = 0 average pooling.
// The window's place in the feature map (k×k, stride) is the pooling layer's
// business; the unit only sees its R entries.
#pragma once

#include <cstddef>

namespace maso::vq {

template <std::size_t R>
struct window_max {
    static_assert(R >= 2, "maso E001: a window or channel max needs at least 2 regions "
                          "(R = 1 is the identity)");
    static constexpr std::size_t inputs = R;
    static constexpr std::size_t regions = R;
    static constexpr bool is_selection = true;
    static constexpr const char* name() noexcept { return "window_max"; }

    template <class T>
    constexpr T slope(std::size_t r, std::size_t i) const noexcept {
        return r == i ? T(1) : T(0);
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }
};

} // namespace maso::vq
