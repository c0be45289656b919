// Tests of include/maso/vq/units/relu.hpp: the laws, and Props. 3 and 7.
#include <maso/vq/units/relu.hpp>

#include <maso_test/unit_laws.hpp>

using namespace maso::vq;
using maso_test::close;

BOOST_AUTO_TEST_CASE(laws) { maso_test::check_unit_laws(relu{}); }

BOOST_AUTO_TEST_CASE(beta_vq_is_swish_with_eta_beta_over_one_minus_beta) { // Prop. 7
    for (double b : {0.1, 0.3, 0.5, 0.7, 0.9, 0.99}) {
        const double eta = b / (1 - b);
        for (double z = -6; z <= 6; z += 0.37) {
            const double swish = z / (1 + std::exp(-eta * z));
            MASO_CHECK_CLOSE(beta_forward(relu{}, std::array{z}, eta), swish, 1e-13, 1e-13);
            // paper-spec §4.1: y' = s + η z s(1−s), ∂y/∂η = z² s(1−s), s = σ(ηz)
            const double s = maso_test::sigmoid(eta * z), ss = maso_test::sigmoid_slope(eta * z);
            const auto g = beta_backward(relu{}, std::array{z}, eta, 1.0);
            MASO_CHECK_CLOSE(g.dx[0], s + eta * z * ss, 1e-12, 1);
            MASO_CHECK_CLOSE(g.deta, z * z * ss, 1e-12, 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(half_is_silu) { // Prop. 3
    for (double z = -5; z <= 5; z += 0.25)
        MASO_CHECK_CLOSE(beta_forward(relu{}, std::array{z}, 1.0), z / (1 + std::exp(-z)), 1e-13,
                         1e-13);
}

BOOST_AUTO_TEST_CASE(hard_is_relu_and_limits) {
    for (double z = -5; z <= 5; z += 0.25) {
        BOOST_CHECK_EQUAL(hard_forward(relu{}, std::array{z}), std::max(z, 0.0));
        MASO_CHECK_CLOSE(beta_forward(relu{}, std::array{z}, 0.0), z / 2, 1e-15, 0);
    }
    // The tie rule: ReLU'(0) = 0 on the hard path; y'(0) = ½ for every finite η.
    BOOST_CHECK_EQUAL(hard_backward(relu{}, std::array{0.0}, 1.0).dx[0], 0.0);
    for (double eta : {0.0, 1.0, 9.0, 1e6})
        MASO_CHECK_CLOSE(beta_backward(relu{}, std::array{0.0}, eta, 1.0).dx[0], 0.5, 1e-15, 0);
}
