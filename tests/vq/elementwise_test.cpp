// Tests of include/maso/vq/elementwise.hpp: the closed forms agree with the
// generic derivation of vq/derive.hpp, and stay finite at the extremes.
#include <maso/vq/elementwise.hpp>
#include <maso/vq/soft/sigmoid_output.hpp>
#include <maso/vq/soft/tanh_output.hpp>
#include <maso/vq/units/absolute.hpp>
#include <maso/vq/units/leaky_relu.hpp>
#include <maso/vq/units/relu.hpp>

#include <maso_test/check.hpp>

#include <limits>
#include <tuple>

using namespace maso::vq;

static const std::tuple<relu, leaky_relu, leaky_relu, absolute> units{relu{}, leaky_relu{0.01},
                                                                      leaky_relu{0.3}, absolute{}};

template <class F>
void for_each_unit(F&& f) {
    std::apply([&](const auto&... u) { (f(u), ...); }, units);
}

BOOST_AUTO_TEST_CASE(beta_closed_form_equals_the_generic_derivation) {
    for_each_unit([](const auto& u) {
        for (double eta : {0.0, 0.25, 1.0, 3.0, 9.0, 40.0, 1e6}) {
            const beta_pass<std::decay_t<decltype(u)>, double> pass(
                u, basic_beta<double>::from_eta(eta));
            for (double z = -5; z <= 5; z += 0.173) {
                const auto g = beta_backward(u, std::array{z}, eta, 0.7);
                double dtheta = 0;
                MASO_CHECK_CLOSE(pass.forward(z), beta_forward(u, std::array{z}, eta), 1e-12,
                                 1e-12);
                MASO_CHECK_CLOSE(pass.backward(z, 0.7, dtheta), g.dx[0], 1e-12, 1);
                MASO_CHECK_CLOSE(dtheta, g.dtheta, 1e-11, 1e-12);
            }
        }
    });
}

BOOST_AUTO_TEST_CASE(hard_closed_form_equals_the_generic_derivation) {
    for_each_unit([](const auto& u) {
        const hard_pass<std::decay_t<decltype(u)>, double> pass(u);
        for (double z : {-3.0, -0.5, 0.0, 0.5, 3.0}) {
            double dtheta = 0;
            BOOST_CHECK_EQUAL(pass.forward(z), hard_forward(u, std::array{z}));
            BOOST_CHECK_EQUAL(pass.backward(z, 2.0, dtheta),
                              hard_backward(u, std::array{z}, 2.0).dx[0]);
            BOOST_CHECK_EQUAL(dtheta, 0.0);
        }
    });
}

template <class S>
void check_readout() {
    for (double eta : {0.0, 0.25, 1.0, 9.0, 40.0}) {
        const soft_pass<S, double> pass(basic_beta<double>::from_eta(eta));
        for (double z = -5; z <= 5; z += 0.173) {
            const auto g = readout_backward<S>(z, eta, -1.3);
            double dtheta = 0;
            MASO_CHECK_CLOSE(pass.forward(z), readout_forward<S>(z, eta), 1e-12, 1e-12);
            MASO_CHECK_CLOSE(pass.backward(z, -1.3, dtheta), g.dx[0], 1e-12, 1e-12);
            MASO_CHECK_CLOSE(dtheta, g.dtheta, 1e-11, 1e-12);
        }
    }
}

BOOST_AUTO_TEST_CASE(soft_output_closed_forms_equal_the_generic_derivation) {
    check_readout<sigmoid_output>();
    check_readout<tanh_output>();
}

BOOST_AUTO_TEST_CASE(float_closed_forms_track_double) {
    for_each_unit([](const auto& u) {
        using U = std::decay_t<decltype(u)>;
        for (double eta : {0.0, 1.0, 9.0}) {
            const beta_pass<U, float> pass(u, beta::from_eta(float(eta)));
            for (double z = -5; z <= 5; z += 0.173) {
                const auto g =
                    beta_backward(u, std::array{double(float(z))}, double(pass.eta), 1.0);
                float dtheta = 0;
                // Scale |z|: the float rounding of z·(c_0 + Δ p_1) is relative to its terms,
                // and for |·| the two terms cancel near z = 0.
                MASO_CHECK_CLOSE(pass.forward(float(z)),
                                 beta_forward(u, std::array{double(float(z))}, double(pass.eta)),
                                 1e-6, std::fabs(z));
                MASO_CHECK_CLOSE(pass.backward(float(z), 1.f, dtheta), g.dx[0], 1e-6, 1);
                MASO_CHECK_CLOSE(dtheta, g.dtheta, 1e-5, 1e-5);
            }
        }
    });
}

BOOST_AUTO_TEST_CASE(no_overflow_nan_or_inf_at_the_extremes) { // paper-spec §9
    const float inf = std::numeric_limits<float>::infinity();
    const float zs[] = {0.f, 1e-30f, -1e-30f, std::numeric_limits<float>::min(),
                        1.f, -1.f,   1e4f,    -1e4f};
    // θ = −∞ is η = 0; θ = 200 overflows e^θ in float and is capped.
    const float thetas[] = {-inf, -60.f, 0.f, std::log(1e6f), 69.f, 200.f};
    for_each_unit([&](const auto& u) {
        using U = std::decay_t<decltype(u)>;
        for (float theta : thetas) {
            const beta_pass<U, float> pass(u, beta::from_theta(theta));
            const soft_pass<sigmoid_output, float> sig(beta::from_theta(theta));
            const soft_pass<tanh_output, float> th(beta::from_theta(theta));
            for (float z : zs) {
                float d1 = 0, d2 = 0, d3 = 0;
                const float vals[] = {pass.forward(z),
                                      pass.backward(z, 1.f, d1),
                                      sig.forward(z),
                                      sig.backward(z, 1.f, d2),
                                      th.forward(z),
                                      th.backward(z, 1.f, d3),
                                      d1,
                                      d2,
                                      d3};
                for (float v : vals)
                    BOOST_CHECK_MESSAGE(std::isfinite(v),
                                        U::name() << " θ=" << theta << " z=" << z << " gave " << v);
                // The value is the hard one once η z is large.
                if (theta >= 69.f && std::fabs(z) >= 1.f)
                    BOOST_CHECK_EQUAL(pass.forward(z), (hard_pass<U, float>(u).forward(z)));
            }
        }
    });
}

// ReLU with its regions listed the other way round: the closed forms would pick
// the wrong region, so they refuse it.
struct reversed_relu {
    static constexpr std::size_t inputs = 1;
    static constexpr std::size_t regions = 2;
    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return r == 0 ? T(1) : T(0);
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }
};

BOOST_AUTO_TEST_CASE(units_outside_the_closed_forms_are_refused) {
    BOOST_CHECK_THROW((hard_pass<reversed_relu, float>(reversed_relu{})), maso::value_error);
    BOOST_CHECK_THROW((beta_pass<reversed_relu, float>(reversed_relu{}, beta::from_beta(0.5f))),
                      maso::value_error);
    // the generic derivation still handles it
    BOOST_CHECK_EQUAL(hard_forward(reversed_relu{}, std::array{2.0}), 2.0);
}
