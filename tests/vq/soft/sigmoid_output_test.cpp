// Tests of include/maso/vq/soft/sigmoid_output.hpp: ReLU's soft layer is the sigmoid (Prop. 5).
#include <maso/vq/soft/readout.hpp>
#include <maso/vq/soft/sigmoid_output.hpp>

#include <maso_test/check.hpp>

using namespace maso::vq;

BOOST_AUTO_TEST_CASE(is_the_sigmoid_of_eta_z) {
    for (double eta : {0.0, 0.5, 1.0, 9.0})
        for (double z = -6; z <= 6; z += 0.35) {
            const double s = maso_test::sigmoid(eta * z), ss = maso_test::sigmoid_slope(eta * z);
            MASO_CHECK_CLOSE(readout_forward<sigmoid_output>(z, eta), s, 1e-14, 0);
            const auto g = readout_backward<sigmoid_output>(z, eta, 1.0);
            MASO_CHECK_CLOSE(g.dx[0], eta * ss, 1e-12, 0);
            MASO_CHECK_CLOSE(g.deta, z * ss, 1e-12, 0);
        }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    for (double eta : maso_test::test_etas())
        for (int k = 0; k < 20; ++k) {
            const double z = maso_test::uniform(-4, 4);
            const auto g = readout_backward<sigmoid_output>(z, eta, 1.0);
            const double y = readout_forward<sigmoid_output>(z, eta);
            MASO_CHECK_DERIVATIVE(
                g.dx[0],
                maso_test::central_difference(
                    [&](double t) { return readout_forward<sigmoid_output>(t, eta); }, z),
                y);
            if (eta > 0)
                MASO_CHECK_DERIVATIVE(
                    g.dtheta,
                    maso_test::central_difference(
                        [&](double t) { return readout_forward<sigmoid_output>(z, std::exp(t)); },
                        std::log(eta)),
                    y);
        }
}
