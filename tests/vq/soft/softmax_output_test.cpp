// Tests of include/maso/vq/soft/softmax_output.hpp: the soft layer of a channel max (Prop. 6).
#include <maso/vq/soft/softmax_output.hpp>

#include <maso_test/check.hpp>

using namespace maso::vq;
using S = softmax_output<10>;

static std::array<double, 10> logits() {
    std::array<double, 10> z{};
    for (auto& v : z)
        v = maso_test::uniform(-5, 5);
    return z;
}

BOOST_AUTO_TEST_CASE(is_softmax_of_eta_z) {
    for (double eta : {0.0, 1.0, 2.5}) {
        const auto z = logits();
        const auto p = S::forward(z, eta);
        double den = 0, total = 0;
        for (double v : z)
            den += std::exp(eta * v);
        for (std::size_t c = 0; c < 10; ++c) {
            MASO_CHECK_CLOSE(p[c], std::exp(eta * z[c]) / den, 1e-13, 0);
            total += p[c];
        }
        MASO_CHECK_CLOSE(total, 1.0, 1e-14, 0);
    }
}

BOOST_AUTO_TEST_CASE(jacobian_is_eta_diag_p_minus_p_pt) {
    const double eta = 1.7;
    const auto z = logits();
    const auto p = S::forward(z, eta);
    for (std::size_t r = 0; r < 10; ++r) {
        std::array<double, 10> dp{};
        dp[r] = 1; // the row ∂p_r/∂z
        const auto g = S::backward(z, eta, dp);
        for (std::size_t j = 0; j < 10; ++j)
            MASO_CHECK_CLOSE(g.dx[j], eta * ((r == j ? p[r] : 0.0) - p[r] * p[j]), 1e-12, 1e-12);
    }
}

BOOST_AUTO_TEST_CASE(with_cross_entropy_the_gradient_is_eta_p_minus_onehot) {
    const double eta = 0.8;
    const auto z = logits();
    const auto p = S::forward(z, eta);
    const std::size_t label = 3;
    std::array<double, 10> dp{};
    dp[label] = -1 / p[label]; // ∂(−log p_label)/∂p
    const auto g = S::backward(z, eta, dp);
    for (std::size_t c = 0; c < 10; ++c)
        MASO_CHECK_CLOSE(g.dx[c], eta * (p[c] - (c == label ? 1.0 : 0.0)), 1e-12, 1e-12);
    // and in θ, against finite differences
    const double fd = maso_test::central_difference(
        [&](double t) { return -std::log(S::forward(z, std::exp(t))[label]); }, std::log(eta));
    MASO_CHECK_DERIVATIVE(g.dtheta, fd, -std::log(p[label]));
}
