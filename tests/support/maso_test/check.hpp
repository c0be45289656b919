// maso_test/check.hpp — comparisons and finite differences shared by the tests.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace maso_test {

/// |a − b| ≤ rel · max(|a|, |b|, scale). `scale` is the size of the terms that
/// produced a and b: where a result cancels (a derivative crossing zero), the
/// rounding of its terms — not of the result — is what two correct
/// implementations can differ by.
inline bool close(double a, double b, double rel, double scale = 0) {
    if (!std::isfinite(a) || !std::isfinite(b)) return false;
    return std::fabs(a - b) <= rel * std::max({std::fabs(a), std::fabs(b), scale});
}

/// Each argument is evaluated once (a backward pass that accumulates must not
/// run twice because a check printed it).
#define MASO_CHECK_CLOSE(a, b, rel, scale)                                                         \
    do {                                                                                           \
        const double maso_a_ = (a), maso_b_ = (b);                                                 \
        BOOST_CHECK_MESSAGE(::maso_test::close(maso_a_, maso_b_, (rel), (scale)),                  \
                            #a " = " << maso_a_ << " vs " #b " = " << maso_b_ << " (rel " << (rel) \
                                     << ", scale " << (scale) << ")");                             \
    } while (false)

/// Central difference of f at x with a step relative to |x|.
inline double central_difference(const std::function<double(double)>& f, double x,
                                 double step = 1e-6) {
    const double h = step * std::max(1.0, std::fabs(x));
    return (f(x + h) - f(x - h)) / (2 * h);
}

/// An analytic derivative agrees with central differences to relative 1e-6;
/// the absolute floor is the rounding of f(x ± h) divided by 2h.
inline bool derivative_agrees(double analytic, double numeric, double fvalue) {
    return std::fabs(analytic - numeric) <=
           1e-6 * std::max(std::fabs(analytic), std::fabs(numeric)) +
               1e-9 * (1 + std::fabs(fvalue));
}
#define MASO_CHECK_DERIVATIVE(analytic, numeric, fvalue)                                           \
    do {                                                                                           \
        const double maso_an_ = (analytic), maso_fd_ = (numeric);                                  \
        BOOST_CHECK_MESSAGE(::maso_test::derivative_agrees(maso_an_, maso_fd_, (fvalue)),          \
                            "analytic " #analytic " = " << maso_an_ << " vs finite difference "    \
                                                        << maso_fd_);                              \
    } while (false)

/// The five-point stencil, whose truncation error is O(h⁴) where the central
/// difference's is O(h²).
inline double five_point_difference(const std::function<double(double)>& f, double x,
                                    double step = 1e-4) {
    const double h = step * std::max(1.0, std::fabs(x));
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h);
}

/// The central difference of f at x, or the five-point stencil's where the central
/// difference disagrees with `analytic`: a whole network's f (a batch norm over a
/// few images, soft pooling) can be curved enough that the central difference's
/// truncation error alone passes the floor of MASO_CHECK_DERIVATIVE.
inline double checked_difference(const std::function<double(double)>& f, double x, double analytic,
                                 double fvalue) {
    const double fd = central_difference(f, x);
    return derivative_agrees(analytic, fd, fvalue) ? fd : five_point_difference(f, x);
}

/// Independent references for the tests, written the stable way (paper-spec §9):
/// σ(u) on the side that does not overflow, and σ(u)(1 − σ(u)) as σ(u)σ(−u).
inline double sigmoid(double u) {
    return u >= 0 ? 1 / (1 + std::exp(-u)) : std::exp(u) / (1 + std::exp(u));
}
inline double sigmoid_slope(double u) { return sigmoid(u) * sigmoid(-u); }
/// 1 − tanh²(u) without cancellation.
inline double tanh_slope(double u) { return 4 * sigmoid_slope(2 * u); }

inline std::mt19937& rng() {
    static std::mt19937 g(20190506u); // fixed: failures reproduce
    return g;
}

inline double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng());
}

template <class T>
std::vector<T> uniform_vector(std::size_t n, double lo, double hi) {
    std::vector<T> v(n);
    for (auto& x : v)
        x = static_cast<T>(uniform(lo, hi));
    return v;
}

/// η values every law is checked at: the linear mean, soft VQ, swish-like and
/// nearly hard.
inline const std::vector<double>& test_etas() {
    static const std::vector<double> etas{0.0, 0.25, 1.0, 3.0, 9.0, 40.0};
    return etas;
}

} // namespace maso_test
