// maso_test/unit_laws.hpp — the laws every spline unit must satisfy.
//
// check_unit_laws(unit) runs, on random inputs, everything vq/derive.hpp
// promises for any unit: the β = 0 mean, Σ_r g_r = 1, the value of the β-VQ
// objective and its optimality, the β → 1 bound, the tie rule, finite-difference
// checks in double of every input and of η, θ and β for the hard, β-VQ and
// soft-layer paths, and finite outputs at extreme inputs and η. A unit test of a
// new nonlinearity calls it once, then checks the nonlinearity's own identities.
#pragma once

#include <maso/vq/derive.hpp>

#include <maso_test/check.hpp>

#include <array>
#include <limits>

namespace maso_test {

template <maso::vq::spline_unit U>
std::array<double, U::inputs> random_inputs(double lo = -3, double hi = 3) {
    std::array<double, U::inputs> x{};
    for (auto& v : x)
        v = uniform(lo, hi);
    return x;
}

/// Smallest gap between distinct region values, and |x| — kinks lie where it is 0.
template <maso::vq::spline_unit U>
double kink_distance(const U& u, const std::array<double, U::inputs>& x) {
    const auto v = maso::vq::regions_of(u, x);
    double gap = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < U::regions; ++r)
        for (std::size_t s = r + 1; s < U::regions; ++s)
            gap = std::min(gap, std::fabs(v[r] - v[s]));
    return gap;
}

template <maso::vq::spline_unit U>
void check_beta_gradients(const U& u, const std::array<double, U::inputs>& x, double eta) {
    using namespace maso::vq;
    const auto g = beta_backward(u, x, eta, 1.0);
    const double y = beta_forward(u, x, eta);
    for (std::size_t i = 0; i < U::inputs; ++i) {
        const double fd = central_difference(
            [&](double t) {
                auto xt = x;
                xt[i] = t;
                return beta_forward(u, xt, eta);
            },
            x[i]);
        MASO_CHECK_DERIVATIVE(g.dx[i], fd, y);
    }
    if (eta > 0) {
        const double theta = std::log(eta);
        const double fd_theta =
            central_difference([&](double t) { return beta_forward(u, x, std::exp(t)); }, theta);
        MASO_CHECK_DERIVATIVE(g.dtheta, fd_theta, y);
        const double fd_eta =
            central_difference([&](double e) { return beta_forward(u, x, e); }, eta);
        MASO_CHECK_DERIVATIVE(g.deta, fd_eta, y);
        const double b = eta / (1 + eta);
        const double fd_beta = central_difference(
            [&](double bb) { return beta_forward(u, x, bb / (1 - bb)); }, b, 1e-8);
        // dβ carries (1+η)² ≈ 1600 at η = 40: the step in β is smaller to match.
        BOOST_CHECK_MESSAGE(std::fabs(g.dbeta(eta) - fd_beta) <=
                                1e-6 * std::max(std::fabs(fd_beta), std::fabs(g.dbeta(eta))) +
                                    1e-7 * (1 + eta) * (1 + eta) * (1 + std::fabs(y)),
                            "dbeta " << g.dbeta(eta) << " vs " << fd_beta << " at eta " << eta);
    }
    // Backward is linear in the upstream gradient.
    const auto g3 = beta_backward(u, x, eta, 3.0);
    for (std::size_t i = 0; i < U::inputs; ++i)
        MASO_CHECK_CLOSE(g3.dx[i], 3 * g.dx[i], 1e-12, 1e-12);
}

template <maso::vq::spline_unit U>
void check_soft_gradients(const U& u, const std::array<double, U::inputs>& x, double eta) {
    using namespace maso::vq;
    std::array<double, U::regions> dp{};
    for (auto& d : dp)
        d = uniform(-1, 1);
    auto loss = [&](const std::array<double, U::inputs>& xx, double e) {
        const auto p = soft_forward(u, xx, e);
        double l = 0;
        for (std::size_t r = 0; r < U::regions; ++r)
            l += dp[r] * p[r];
        return l;
    };
    const auto g = soft_backward(u, x, eta, dp);
    const double l0 = loss(x, eta);
    for (std::size_t i = 0; i < U::inputs; ++i) {
        const double fd = central_difference(
            [&](double t) {
                auto xt = x;
                xt[i] = t;
                return loss(xt, eta);
            },
            x[i]);
        MASO_CHECK_DERIVATIVE(g.dx[i], fd, l0);
    }
    if (eta > 0) {
        const double fd_theta =
            central_difference([&](double t) { return loss(x, std::exp(t)); }, std::log(eta));
        MASO_CHECK_DERIVATIVE(g.dtheta, fd_theta, l0);
    }
}

template <maso::vq::spline_unit U>
void check_hard_gradients(const U& u, const std::array<double, U::inputs>& x) {
    using namespace maso::vq;
    const auto g = hard_backward(u, x, 1.0);
    BOOST_CHECK_EQUAL(g.dtheta, 0.0);
    for (std::size_t i = 0; i < U::inputs; ++i) {
        const double fd = central_difference(
            [&](double t) {
                auto xt = x;
                xt[i] = t;
                return hard_forward(u, xt);
            },
            x[i]);
        MASO_CHECK_DERIVATIVE(g.dx[i], fd, hard_forward(u, x));
    }
}

template <maso::vq::spline_unit U>
void check_unit_laws(const U& u) {
    using namespace maso::vq;
    constexpr std::size_t R = U::regions;
    const double inf = std::numeric_limits<double>::infinity();
    for (int trial = 0; trial < 25; ++trial) {
        auto x = random_inputs<U>();
        if (kink_distance(u, x) < 1e-2) continue; // FD needs |v_r − v_s| ≫ step
        const auto v = regions_of(u, x);
        const double vmax = v[hard_region(v)];

        // β = 0: p uniform, y the mean of the regions.
        double mean = 0;
        for (double vr : v)
            mean += vr / R;
        MASO_CHECK_CLOSE(beta_forward(u, x, 0.0), mean, 1e-12, std::fabs(vmax));

        for (double eta : test_etas()) {
            const auto q = posterior_of(v, eta);
            // Rows of the effective VQ matrix sum to 1: Σ_j p_j (1 + η (v_j − y)) = 1.
            double gsum = 0;
            for (std::size_t j = 0; j < R; ++j)
                gsum += q.p[j] * (1 + eta * (v[j] - q.mean));
            MASO_CHECK_CLOSE(gsum, 1.0, 1e-12, 1 + eta * std::fabs(vmax));

            // The posterior maximises β Σ t v + (1−β) H(t); the optimum is (1−β) LSE(ηv).
            const double b = eta / (1 + eta);
            auto objective = [&](const std::array<double, R>& t) {
                double o = 0;
                for (std::size_t r = 0; r < R; ++r)
                    o += b * t[r] * v[r] - (t[r] > 0 ? (1 - b) * t[r] * std::log(t[r]) : 0.0);
                return o;
            };
            double lse = 0;
            for (double vr : v)
                lse += std::exp(eta * (vr - vmax));
            const double optimum = (1 - b) * (eta * vmax + std::log(lse));
            MASO_CHECK_CLOSE(objective(q.p), optimum, 1e-10, 1 + std::fabs(vmax));
            for (int k = 0; k < 5; ++k) { // any other point of the simplex is worse
                std::array<double, R> t{};
                double s = 0;
                for (auto& tr : t)
                    s += tr = uniform(0, 1);
                for (auto& tr : t)
                    tr /= s;
                BOOST_CHECK_LE(objective(t), optimum + 1e-12);
            }

            check_beta_gradients(u, x, eta);
            check_soft_gradients(u, x, eta);

            // β → 1: 0 ≤ y_hard − y_β ≤ (log R)/η.
            if (eta > 0) {
                const double gap = vmax - q.mean;
                BOOST_CHECK_GE(gap, -1e-12);
                BOOST_CHECK_LE(gap, std::log(double(R)) / eta + 1e-12);
            }
        }
        check_hard_gradients(u, x);
        BOOST_CHECK_EQUAL(hard_forward(u, x), vmax);
        // η = ∞ is the hard value (no ties here).
        MASO_CHECK_CLOSE(beta_forward(u, x, inf), vmax, 1e-15, 0);
        for (double eta : {1e4, 1e8})
            BOOST_CHECK_LE(vmax - beta_forward(u, x, eta), std::log(double(R)) / eta + 1e-12);
    }

    // Tie rule: at a tie the lowest region index wins.
    {
        std::array<double, U::inputs> x{}; // all inputs 0: every region value is its offset
        const auto v = regions_of(u, x);
        std::size_t first = 0;
        for (std::size_t r = 1; r < R; ++r)
            if (v[r] > v[first]) first = r;
        BOOST_CHECK_EQUAL(hard_region(v), first);
        if (v[0] == v[R - 1]) BOOST_CHECK_EQUAL(hard_region(v), 0u);
    }

    // Extreme inputs and η: everything stays finite (paper-spec §9).
    for (double scale : {1e-30, 1.0, 1e4})
        for (double eta : {0.0, 1e-30, 1.0, 1e6, 1e30, inf}) {
            const auto x = random_inputs<U>(-scale, scale);
            const auto g = beta_backward(u, x, eta, 1.0);
            BOOST_CHECK(std::isfinite(beta_forward(u, x, eta)));
            BOOST_CHECK(std::isfinite(g.deta) && std::isfinite(g.dtheta));
            for (double d : g.dx)
                BOOST_CHECK(std::isfinite(d));
            std::array<double, R> dp{};
            dp.fill(1.0);
            const auto gs = soft_backward(u, x, eta, dp);
            for (double d : gs.dx)
                BOOST_CHECK(std::isfinite(d));
            for (double p : soft_forward(u, x, eta))
                BOOST_CHECK(std::isfinite(p) && p >= 0 && p <= 1);
        }
}

} // namespace maso_test
