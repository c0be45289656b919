// maso/vq/beta.hpp — the β of β-VQ inference, stored without singularities.
//
// paper-spec §3: β ∈ [0,1] mixes the hard-VQ objective with the entropy, and the
// formulas use η = β/(1−β) ∈ [0,∞]. maso stores θ with β = σ(θ), so η = e^θ
// exactly (paper-spec §3.1 (b)): no 1/(1−β) blow-up in float, and dη/dθ = η.
//   β = 0  ⇔ θ = −∞ ⇔ η = 0   (linear mean of the regions)
//   β = ½  ⇔ θ = 0  ⇔ η = 1   (soft VQ)
//   β = 1  ⇔ θ = +∞ ⇔ η = ∞   (hard VQ: kernels take the max path)
#pragma once

#include <maso/core/error.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace maso::vq {

template <class T>
struct basic_beta {
    T theta; ///< the stored, learnable parameter: β = σ(θ), η = e^θ

    /// β in [0, 1]; anything else (NaN included) raises maso::value_error.
    static basic_beta from_beta(T b) {
        if (!(b >= T(0) && b <= T(1)))
            throw value_error("maso: beta = " + std::to_string(b) + " is outside [0, 1]");
        // logit(β) = log β − log(1−β); log1p keeps precision for small β.
        return {std::log(b) - std::log1p(-b)};
    }
    /// η in [0, ∞]; a negative or NaN η raises maso::value_error.
    static basic_beta from_eta(T eta) {
        if (!(eta >= T(0)))
            throw value_error("maso: eta = " + std::to_string(eta) + " is negative or NaN");
        return {std::log(eta)};
    }
    static basic_beta from_theta(T theta) {
        if (std::isnan(theta)) throw value_error("maso: theta is NaN");
        return {theta};
    }

    T eta() const noexcept { return std::exp(theta); }
    /// β = σ(θ), computed on the side that does not overflow.
    T value() const noexcept {
        return theta >= T(0) ? T(1) / (T(1) + std::exp(-theta))
                             : std::exp(theta) / (T(1) + std::exp(theta));
    }
    /// β = 1 exactly: the hard path (max region, zero gradient in β).
    bool is_hard() const noexcept { return theta == std::numeric_limits<T>::infinity(); }

    /// dβ/dθ = β(1−β); turns a gradient in θ into one in β.
    T dbeta_dtheta() const noexcept {
        const T b = value();
        return b * (T(1) - b);
    }
};

using beta = basic_beta<float>;

} // namespace maso::vq
