// Tests of include/maso/vq/units/window_max.hpp: max, softmax and average pooling.
#include <maso/vq/units/window_max.hpp>

#include <maso_test/unit_laws.hpp>

using namespace maso::vq;

BOOST_AUTO_TEST_CASE(laws) {
    maso_test::check_unit_laws(window_max<2>{});
    maso_test::check_unit_laws(window_max<4>{});
    maso_test::check_unit_laws(window_max<9>{});
}

template <std::size_t R>
double softmax_pool(const std::array<double, R>& v, double eta) {
    double num = 0, den = 0;
    for (double x : v) {
        num += x * std::exp(eta * x);
        den += std::exp(eta * x);
    }
    return num / den;
}

BOOST_AUTO_TEST_CASE(pooling_family) {
    for (int trial = 0; trial < 50; ++trial) {
        const auto v = maso_test::random_inputs<window_max<4>>();
        double mx = v[0], avg = 0;
        for (double x : v) {
            mx = std::max(mx, x);
            avg += x / 4;
        }
        BOOST_CHECK_EQUAL(hard_forward(window_max<4>{}, v), mx);
        MASO_CHECK_CLOSE(beta_forward(window_max<4>{}, v, 0.0), avg, 1e-14, 3);       // β = 0
        MASO_CHECK_CLOSE(beta_forward(window_max<4>{}, v, 1.0), softmax_pool(v, 1.0), // Prop. 4
                         1e-13, 3);
        MASO_CHECK_CLOSE(beta_forward(window_max<4>{}, v, 9.0), softmax_pool(v, 9.0), 1e-13, 3);
        // Σ_j ∂y/∂v_j = 1: the effective VQ matrix's rows sum to one.
        const auto g = beta_backward(window_max<4>{}, v, 2.0, 1.0);
        double s = 0;
        for (double d : g.dx)
            s += d;
        MASO_CHECK_CLOSE(s, 1.0, 1e-13, 1);
    }
}

BOOST_AUTO_TEST_CASE(ties_average_in_the_limit_and_take_the_first_when_hard) {
    const std::array<double, 4> v{1.0, 3.0, 3.0, -2.0};
    const auto q = posterior_of(v, std::numeric_limits<double>::infinity());
    BOOST_CHECK_EQUAL(q.p[1], 0.5);
    BOOST_CHECK_EQUAL(q.p[2], 0.5);
    BOOST_CHECK_EQUAL(q.p[0] + q.p[3], 0.0);
    const auto g = hard_backward(window_max<4>{}, v, 1.0);
    BOOST_CHECK_EQUAL(g.dx[1], 1.0);
    BOOST_CHECK_EQUAL(g.dx[2], 0.0);
}
