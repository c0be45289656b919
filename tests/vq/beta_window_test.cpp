// Tests of include/maso/vq/beta_window.hpp, in scalar code (the lanes' use is checked against
// this reference by layers/detail/window_lanes_test and plane_window_test): a window's
// weights, mean, gradients and ∂L/∂η against the formulas of paper-spec §3.1 written out
// here, and against central differences of y(v, η); the guards — members tied at the max
// weigh 1 at η = ∞, whose gradient has no spread term and ∂L/∂η is 0 there; a member with
// dy = 0 adds exactly 0 to dv and to ∂L/∂η.
#include <maso/vq/beta_window.hpp>

#include <maso_test/check.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using maso::vq::beta_window;
using maso::vq::window_sums;

namespace {

struct window_result {
    double y, deta;
    std::vector<double> dv;
};

/// y, ∂L/∂v and ∂L/∂η of the window v at η for upstream dy, through beta_window.
window_result run(const std::vector<double>& v, double eta, double dy) {
    const beta_window<double> w(*std::max_element(v.begin(), v.end()), eta);
    window_sums<double> s = beta_window<double>::no_sums();
    std::vector<double> e(v.size());
    for (std::size_t r = 0; r < v.size(); ++r)
        s.add(e[r] = w.weight(v[r]), v[r]);
    window_result out{s.mean(), 0, std::vector<double>(v.size())};
    for (std::size_t j = 0; j < v.size(); ++j)
        out.dv[j] = w.gradient(v[j], e[j], out.y, 1 / s.total, dy, out.deta);
    out.deta = beta_window<double>::eta_gradient(eta, out.deta);
    return out;
}

/// y = Σ softmax(η v)_r v_r, written out.
double mean_of(const std::vector<double>& v, double eta) {
    double total = 0, weighted = 0;
    for (double x : v) {
        total += std::exp(eta * x);
        weighted += std::exp(eta * x) * x;
    }
    return weighted / total;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_formulas_and_their_derivatives) {
    const std::vector<std::vector<double>> windows{{0.3, -1.2, 0.8, 0.1},
                                                   {2.0},
                                                   {-0.5, 0.25},
                                                   {1.0, 3.0, -2.0, 0.5, 0.0, 1.5, -0.7, 2.2, 0.9}};
    for (const auto& v : windows)
        for (double eta : {0.0, 0.4, 1.0, 3.0})
            for (double dy : {1.0, -0.6}) {
                const auto r = run(v, eta, dy);
                MASO_CHECK_CLOSE(r.y, mean_of(v, eta), 1e-14, 1);
                // p, y and Var_p written out: ∂L/∂v_j = dy p_j (1 + η (v_j − y)), ∂L/∂η = dy Var
                double total = 0, var = 0;
                for (double x : v)
                    total += std::exp(eta * x);
                for (std::size_t j = 0; j < v.size(); ++j) {
                    const double p = std::exp(eta * v[j]) / total;
                    var += p * (v[j] - r.y) * (v[j] - r.y);
                    MASO_CHECK_CLOSE(r.dv[j], dy * p * (1 + eta * (v[j] - r.y)), 1e-13, 1);
                    auto vj = v;
                    const double fd = maso_test::central_difference(
                        [&](double t) {
                            vj[j] = t;
                            return dy * mean_of(vj, eta);
                        },
                        v[j]);
                    MASO_CHECK_DERIVATIVE(r.dv[j], fd, r.y);
                }
                MASO_CHECK_CLOSE(r.deta, dy * var, 1e-13, 1);
                const double fd = maso_test::central_difference(
                    [&](double t) { return dy * mean_of(v, t); }, eta);
                MASO_CHECK_DERIVATIVE(r.deta, fd, r.y);
            }
}

BOOST_AUTO_TEST_CASE(ties_at_infinite_eta_average_without_nan) {
    const double inf = std::numeric_limits<double>::infinity();
    const auto r = run({1.0, 2.0, 2.0, -3.0}, inf, 1.0);
    BOOST_TEST(r.y == 2.0); // the tied maxima, averaged
    BOOST_TEST(r.dv[0] == 0.0);
    BOOST_TEST(r.dv[1] == 0.5);
    BOOST_TEST(r.dv[2] == 0.5);
    BOOST_TEST(r.dv[3] == 0.0);
    BOOST_TEST(r.deta == 0.0); // y no longer moves with η
    const beta_window<double> w(2.0, inf);
    BOOST_TEST(w.weight(2.0) == 1.0); // not exp(∞ · 0)
    BOOST_TEST(w.weight(1.0) == 0.0);
    BOOST_TEST(w.spread == 0.0);
}

BOOST_AUTO_TEST_CASE(a_member_with_zero_dy_adds_exactly_zero) {
    // A padding lane: any finite values, dy = 0.
    const beta_window<double> w(5.0, 2.5);
    double deta = 0;
    BOOST_TEST(w.gradient(-40.0, w.weight(-40.0), 1.7, 0.3, 0.0, deta) == 0.0);
    BOOST_TEST(w.gradient(5.0, w.weight(5.0), 1.7, 0.3, 0.0, deta) == 0.0);
    BOOST_TEST(deta == 0.0);
}
