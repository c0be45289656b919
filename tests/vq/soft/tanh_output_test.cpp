// Tests of include/maso/vq/soft/tanh_output.hpp: tanh through tanh(u) = 2σ(2u) − 1.
#include <maso/vq/soft/readout.hpp>
#include <maso/vq/soft/sigmoid_output.hpp>
#include <maso/vq/soft/tanh_output.hpp>

#include <maso_test/check.hpp>

using namespace maso::vq;

BOOST_AUTO_TEST_CASE(is_tanh_of_eta_z) {
    for (double eta : {0.0, 0.5, 1.0, 9.0})
        for (double z = -6; z <= 6; z += 0.35) {
            const double t = std::tanh(eta * z), ts = maso_test::tanh_slope(eta * z);
            MASO_CHECK_CLOSE(readout_forward<tanh_output>(z, eta), t, 1e-13, 1e-15);
            const auto g = readout_backward<tanh_output>(z, eta, 1.0);
            MASO_CHECK_CLOSE(g.dx[0], eta * ts, 1e-12, 0);
            MASO_CHECK_CLOSE(g.deta, z * ts, 1e-12, 0);
        }
}

BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
    for (double eta : maso_test::test_etas())
        for (int k = 0; k < 20; ++k) {
            const double z = maso_test::uniform(-4, 4);
            const auto g = readout_backward<tanh_output>(z, eta, 1.0);
            const double y = readout_forward<tanh_output>(z, eta);
            MASO_CHECK_DERIVATIVE(
                g.dx[0],
                maso_test::central_difference(
                    [&](double t) { return readout_forward<tanh_output>(t, eta); }, z),
                y);
            if (eta > 0)
                MASO_CHECK_DERIVATIVE(
                    g.dtheta,
                    maso_test::central_difference(
                        [&](double t) { return readout_forward<tanh_output>(z, std::exp(t)); },
                        std::log(eta)),
                    y);
        }
}

BOOST_AUTO_TEST_CASE(reparametrisation_of_a_dense_layer_is_exact) {
    // paper-spec §4.7: u = W' tanh(Wx + b) + b'  ==  W̃' σ(W̃x + b̃) + b̃'
    // with W̃ = 2W, b̃ = 2b, W̃' = 2W', b̃' = b' − W'·1.
    constexpr int D = 3, H = 4, O = 2;
    double W[H][D], b[H], W2[O][H], b2[O], x[D];
    for (auto& r : W)
        for (auto& w : r)
            w = maso_test::uniform(-1, 1);
    for (auto& v : b)
        v = maso_test::uniform(-1, 1);
    for (auto& r : W2)
        for (auto& w : r)
            w = maso_test::uniform(-1, 1);
    for (auto& v : b2)
        v = maso_test::uniform(-1, 1);
    for (auto& v : x)
        v = maso_test::uniform(-2, 2);
    for (int o = 0; o < O; ++o) {
        double u = b2[o], ut = b2[o];
        for (int h = 0; h < H; ++h) {
            double z = b[h];
            for (int d = 0; d < D; ++d)
                z += W[h][d] * x[d];
            u += W2[o][h] * readout_forward<tanh_output>(z, 1.0);
            ut += 2 * W2[o][h] * readout_forward<sigmoid_output>(2 * z, 1.0) - W2[o][h];
        }
        MASO_CHECK_CLOSE(u, ut, 1e-13, 1);
    }
}
