// Tests of include/maso/vq/units/absolute.hpp: β-VQ |z| is z·tanh(ηz).
#include <maso/vq/units/absolute.hpp>

#include <maso_test/unit_laws.hpp>

using namespace maso::vq;

BOOST_AUTO_TEST_CASE(laws) { maso_test::check_unit_laws(absolute{}); }

BOOST_AUTO_TEST_CASE(beta_vq_is_z_tanh) { // paper-spec §4.3
    for (double eta : {0.0, 0.5, 1.0, 9.0, 50.0})
        for (double z = -4; z <= 4; z += 0.3) {
            const double t = std::tanh(eta * z), ts = maso_test::tanh_slope(eta * z);
            MASO_CHECK_CLOSE(beta_forward(absolute{}, std::array{z}, eta), z * t, 1e-13, 1e-13);
            const auto g = beta_backward(absolute{}, std::array{z}, eta, 1.0);
            MASO_CHECK_CLOSE(g.dx[0], t + eta * z * ts, 1e-12, 1);
            MASO_CHECK_CLOSE(g.deta, z * z * ts, 1e-12, 0);
        }
}

BOOST_AUTO_TEST_CASE(limits) {
    for (double z = -4; z <= 4; z += 0.5) {
        BOOST_CHECK_EQUAL(beta_forward(absolute{}, std::array{z}, 0.0), 0.0); // β = 0
        BOOST_CHECK_EQUAL(hard_forward(absolute{}, std::array{z}), std::fabs(z));
    }
    BOOST_CHECK_EQUAL(hard_backward(absolute{}, std::array{0.0}, 1.0).dx[0], -1.0); // tie rule
}
