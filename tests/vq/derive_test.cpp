// Tests of include/maso/vq/derive.hpp: the derivation on a unit with general
// affine regions (non-zero offsets, several inputs), the posterior's edges, and the
// span forms for a number of regions given at run time.
#include <maso/vq/derive.hpp>
#include <maso/vq/units/window_max.hpp>

#include <maso_test/unit_laws.hpp>

#include <span>
#include <vector>

using namespace maso::vq;

// A made-up unit: 3 regions, each an affine map of 2 inputs with an offset
// (paper-spec §1: v_r = <A_r, x> + B_r). It exercises every term of the chain
// rule that ReLU-like units leave at zero.
struct affine3 {
    static constexpr std::size_t inputs = 2;
    static constexpr std::size_t regions = 3;
    static constexpr double A[3][2] = {{0.5, -1.0}, {2.0, 0.25}, {-1.5, 1.0}};
    static constexpr double B[3] = {0.3, -0.2, 0.1};
    template <class T>
    constexpr T slope(std::size_t r, std::size_t i) const noexcept {
        return T(A[r][i]);
    }
    template <class T>
    constexpr T offset(std::size_t r) const noexcept {
        return T(B[r]);
    }
};
static_assert(spline_unit<affine3> && !elementwise_unit<affine3> && !selection_unit<affine3>);

BOOST_AUTO_TEST_CASE(laws_on_general_affine_regions) { maso_test::check_unit_laws(affine3{}); }

BOOST_AUTO_TEST_CASE(regions_are_the_affine_maps) {
    const std::array<double, 2> x{1.5, -2.0};
    const auto v = regions_of(affine3{}, x);
    for (std::size_t r = 0; r < 3; ++r)
        BOOST_CHECK_EQUAL(v[r], affine3::A[r][0] * x[0] + affine3::A[r][1] * x[1] + affine3::B[r]);
    // chain rule through the slopes: dx_i = Σ_r g_r A_ri
    const double eta = 1.3;
    const auto q = posterior_of(v, eta);
    const auto g = beta_backward(affine3{}, x, eta, 1.0);
    for (std::size_t i = 0; i < 2; ++i) {
        double expect = 0;
        for (std::size_t r = 0; r < 3; ++r)
            expect += q.p[r] * (1 + eta * (v[r] - q.mean)) * affine3::A[r][i];
        MASO_CHECK_CLOSE(g.dx[i], expect, 1e-13, 1);
    }
}

BOOST_AUTO_TEST_CASE(posterior_edges) {
    const std::array<double, 3> v{1.0, 2.0, -3.0};
    const auto uniform = posterior_of(v, 0.0);
    for (double p : uniform.p)
        BOOST_CHECK_EQUAL(p, 1.0 / 3);
    const auto hard = posterior_of(v, std::numeric_limits<double>::infinity());
    BOOST_CHECK_EQUAL(hard.p[1], 1.0);
    BOOST_CHECK_EQUAL(hard.mean, 2.0);
    BOOST_CHECK_EQUAL(hard.variance, 0.0);
    // The variance form never cancels to a negative number.
    const std::array<double, 2> close_pair{1e8, 1e8 + 1};
    BOOST_CHECK_GE(posterior_of(close_pair, 0.5).variance, 0.0);
    // ∂y/∂β = Var·(1+η)², ∂y/∂θ = η·Var; zero on the hard path.
    const auto g = beta_backward(affine3{}, std::array<double, 2>{0.2, 0.4}, 2.0, 1.0);
    MASO_CHECK_CLOSE(g.dbeta(2.0), g.deta * 9, 1e-14, 0);
    MASO_CHECK_CLOSE(g.dtheta, g.deta * 2, 1e-14, 0);
    BOOST_CHECK_EQUAL(hard_backward(affine3{}, std::array<double, 2>{0.2, 0.4}, 1.0).dbeta(2.0),
                      0.0);
}

// ---- the span forms: R given at run time ----------------------------------------------

BOOST_AUTO_TEST_CASE(span_forms_agree_with_the_array_forms) {
    const double etas[] = {0.0, 0.4, 1.3, 9.0, std::numeric_limits<double>::infinity()};
    for (int trial = 0; trial < 20; ++trial) {
        const auto x = maso_test::random_inputs<affine3>();
        const auto v = regions_of(affine3{}, x);
        BOOST_CHECK_EQUAL(hard_region(std::span<const double>(v)), hard_region(v));
        for (const double eta : etas) {
            // posterior_of: the array form is the span form into an array
            const auto q = posterior_of(v, eta);
            std::array<double, 3> p{};
            const auto m = posterior_of<double>(v, eta, p);
            BOOST_CHECK(p == q.p);
            BOOST_CHECK_EQUAL(m.mean, q.mean);
            BOOST_CHECK_EQUAL(m.variance, q.variance);
            BOOST_CHECK_EQUAL(beta_forward<double>(v, eta), beta_forward(affine3{}, x, eta));
            // beta_backward: the span form on the regions, then the chain through the slopes
            const double dy = 0.7;
            std::array<double, 3> dv{};
            const double deta = beta_backward<double>(v, eta, dy, dv);
            const auto g = beta_backward(affine3{}, x, eta, dy);
            BOOST_CHECK_EQUAL(deta, g.deta);
            BOOST_CHECK_EQUAL(theta_gradient(deta, eta), g.dtheta);
            for (std::size_t i = 0; i < 2; ++i) {
                double dx = 0;
                for (std::size_t r = 0; r < 3; ++r)
                    dx += dv[r] * affine3::A[r][i];
                BOOST_CHECK_EQUAL(dx, g.dx[i]);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(span_forms_are_a_unit_whose_regions_are_its_inputs) {
    // window_max<R>: slopes the identity, so the span forms on x are the unit's derivation.
    for (int trial = 0; trial < 20; ++trial) {
        const auto x = maso_test::random_inputs<window_max<5>>();
        for (const double eta : {0.0, 0.5, 3.0}) {
            BOOST_CHECK_EQUAL(beta_forward<double>(x, eta), beta_forward(window_max<5>{}, x, eta));
            std::array<double, 5> dv{};
            const double deta = beta_backward<double>(x, eta, 1.5, dv);
            const auto g = beta_backward(window_max<5>{}, x, eta, 1.5);
            BOOST_CHECK(dv == g.dx);
            BOOST_CHECK_EQUAL(deta, g.deta);
        }
    }
}

BOOST_AUTO_TEST_CASE(span_forms_for_any_run_time_size) {
    // R = 1: p = 1, y = v, no spread and no η gradient.
    const std::vector<double> one{2.5};
    std::vector<double> p1(1), dv1(1);
    const auto m1 = posterior_of<double>(one, 3.0, p1);
    BOOST_CHECK_EQUAL(p1[0], 1.0);
    BOOST_CHECK_EQUAL(m1.mean, 2.5);
    BOOST_CHECK_EQUAL(m1.variance, 0.0);
    BOOST_CHECK_EQUAL(beta_backward<double>(one, 3.0, 0.5, dv1), 0.0);
    BOOST_CHECK_EQUAL(dv1[0], 0.5);

    // R = 1000 (a whole plane) against the formulas, written out directly.
    const auto v = maso_test::uniform_vector<double>(1000, -3, 3);
    const double eta = 0.8;
    double den = 0, num = 0;
    for (const double x : v) {
        den += std::exp(eta * x);
        num += std::exp(eta * x) * x;
    }
    const double y = num / den;
    double var = 0;
    for (const double x : v)
        var += std::exp(eta * x) / den * (x - y) * (x - y);
    std::vector<double> p(v.size()), dv(v.size());
    const auto m = posterior_of<double>(v, eta, p);
    MASO_CHECK_CLOSE(m.mean, y, 1e-13, 3);
    MASO_CHECK_CLOSE(m.variance, var, 1e-12, 0);
    MASO_CHECK_CLOSE(beta_forward<double>(v, eta), y, 1e-13, 3);
    const double dy = -1.25;
    const double deta = beta_backward<double>(v, eta, dy, dv);
    MASO_CHECK_CLOSE(deta, dy * var, 1e-12, 0);
    double sum = 0;
    for (std::size_t j = 0; j < v.size(); ++j) {
        MASO_CHECK_CLOSE(p[j], std::exp(eta * v[j]) / den, 1e-12, 0);
        MASO_CHECK_CLOSE(dv[j], dy * p[j] * (1 + eta * (v[j] - y)), 1e-11, std::fabs(dy * p[j]));
        sum += dv[j];
    }
    MASO_CHECK_CLOSE(sum, dy, 1e-12, 1); // Σ_j ∂y/∂v_j = 1

    // Without dv (only ∂L/∂η wanted) the same ∂L/∂η, nothing written.
    BOOST_CHECK_EQUAL(beta_backward<double>(v, eta, dy, {}), deta);
    BOOST_CHECK_EQUAL(posterior_of<double>(v, eta, {}).variance, m.variance);
}

BOOST_AUTO_TEST_CASE(span_forms_at_the_limits) {
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> v{1.0, 3.0, 3.0, -2.0};
    BOOST_CHECK_EQUAL(hard_region<double>(v), 1u); // the first maximum
    // η = ∞: the tied maxima share p, y is the max, no spread and ∂L/∂η = 0 (never ∞·0)
    std::vector<double> dv(4, 123.0);
    BOOST_CHECK_EQUAL(beta_forward<double>(v, inf), 3.0);
    BOOST_CHECK_EQUAL(beta_backward<double>(v, inf, 1.0, dv), 0.0);
    BOOST_CHECK(dv == (std::vector<double>{0.0, 0.5, 0.5, 0.0}));
    BOOST_CHECK_EQUAL(theta_gradient(0.0, inf), 0.0);
    BOOST_CHECK_EQUAL(theta_gradient(2.0, 3.0), 6.0);
    // η = 0: the mean of the values; large values do not overflow (the max is subtracted)
    BOOST_CHECK_EQUAL(beta_forward<double>(v, 0.0), 1.25);
    const std::vector<double> big{1000, 999, 998};
    BOOST_CHECK(std::isfinite(beta_forward<double>(big, 1.0)));
    BOOST_CHECK_GE(posterior_of<double>(std::vector<double>{1e8, 1e8 + 1}, 0.5, {}).variance, 0.0);
}
