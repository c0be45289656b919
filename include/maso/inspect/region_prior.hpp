// maso/inspect/region_prior.hpp — the region prior of Theorem 2: the GMM whose MAP is a
// unit's hard VQ.
//
// A unit k of R regions after the affine row (w, b) computes z_r = <A_r, x> + B_r with
// A_r = s_r·w and B_r = s_r·b + o_r (s_r, o_r: the unit's slope and offset of region r,
// vq/units/). Under the mixture x = A_t + ε, ε ~ N(0, I), t ~ Cat(π), the posterior is
// p(t = r | x) ∝ π_r·exp(−½‖x − A_r‖²) ∝ exp(z_r) exactly when (paper-spec §2, σ = 1)
//
//   π_r = exp(B_r + ½‖A_r‖²) / Σ_r' exp(B_r' + ½‖A_r'‖²),
//
// so the unit's hard VQ (argmax_r z_r) is that GMM's MAP and its soft VQ the posterior.
// The bias B = −½‖A‖² of Proposition 1 gives the uniform prior. At a Glorot initialisation
// (b = 0) the ReLU prior favours the active region, π_1 = σ(½‖w‖²), with E‖w‖² =
// 2·fan_in/(fan_in + fan_out); absolute value is uniform (paper-spec §6, which explains why
// this differs from the paper's sentence).
#pragma once

#include <maso/core/error.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace maso::inspect {

/// π of Theorem 2 for a unit of R regions after the affine row (w, b); the exponents are
/// shifted by their maximum, so that no ‖w‖ overflows exp.
template <class Unit, class T>
std::array<double, Unit::regions> region_prior(const Unit& unit, std::span<const T> w, T b) {
    static_assert(Unit::inputs == 1, "region_prior: a unit of one input (after an affine row)");
    constexpr std::size_t R = Unit::regions;
    double norm2 = 0;
    for (const T v : w)
        norm2 += double(v) * double(v);
    std::array<double, R> logit{};
    for (std::size_t r = 0; r < R; ++r) {
        const double s = unit.template slope<double>(r, 0);
        logit[r] = s * double(b) + unit.template offset<double>(r) + 0.5 * s * s * norm2;
    }
    const double top = *std::max_element(logit.begin(), logit.end());
    double sum = 0;
    for (double& l : logit)
        sum += (l = std::exp(l - top));
    for (double& l : logit)
        l /= sum;
    return logit;
}

/// The priors of a layer's K units, each after its row of the K×D weights and its bias.
template <class Unit, class T>
std::vector<std::array<double, Unit::regions>>
region_priors(const Unit& unit, std::span<const T> weights, std::span<const T> bias) {
    const std::size_t K = bias.size();
    if (K == 0 || weights.size() % K != 0)
        throw value_error("maso: region_priors: " + std::to_string(weights.size()) +
                          " weights are not whole rows for " + std::to_string(K) + " biases");
    const std::size_t D = weights.size() / K;
    std::vector<std::array<double, Unit::regions>> out;
    out.reserve(K);
    for (std::size_t k = 0; k < K; ++k)
        out.push_back(region_prior(unit, weights.subspan(k * D, D), bias[k]));
    return out;
}

/// A layer's priors summarised per region: the mean, the smallest and the largest over its
/// units.
template <std::size_t R>
struct prior_summary {
    std::array<double, R> mean{}, min{}, max{};
};

template <std::size_t R>
prior_summary<R> summarise(const std::vector<std::array<double, R>>& priors) {
    prior_summary<R> s;
    s.min.fill(1);
    s.max.fill(0);
    for (const auto& p : priors)
        for (std::size_t r = 0; r < R; ++r) {
            s.mean[r] += p[r] / double(priors.size());
            s.min[r] = std::min(s.min[r], p[r]);
            s.max[r] = std::max(s.max[r], p[r]);
        }
    return s;
}

} // namespace maso::inspect
