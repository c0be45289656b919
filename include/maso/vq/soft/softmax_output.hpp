// maso/vq/soft/softmax_output.hpp — softmax as the soft-layer output of a channel max.
//
// paper-spec §4.7, Prop. 6: a dense layer with C outputs followed by a max over
// them is one unit with C regions; its soft-layer output is softmax(ηz) (β = ½:
// softmax(z)), with Jacobian η(diag p − p pᵀ) and ∂p_r/∂η = p_r (z_r − Σ p z).
#pragma once

#include <maso/vq/derive.hpp>
#include <maso/vq/units/channel_max.hpp>

#include <array>

namespace maso::vq {

template <std::size_t C>
struct softmax_output {
    using unit_type = channel_max<C>;
    static constexpr std::size_t classes = C;
    static constexpr const char* name() noexcept { return "softmax"; }

    template <class T>
    static std::array<T, C> forward(const std::array<T, C>& z, T eta) {
        return soft_forward(unit_type{}, z, eta);
    }
    /// dp: upstream gradient on each probability.
    template <class T>
    static unit_gradient<T, C> backward(const std::array<T, C>& z, T eta,
                                        const std::array<T, C>& dp) {
        return soft_backward(unit_type{}, z, eta, dp);
    }
};

} // namespace maso::vq
