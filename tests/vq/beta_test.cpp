// Tests of include/maso/vq/beta.hpp: θ storage, the η map, the domain checks.
#include <maso/vq/beta.hpp>

#include <maso_test/check.hpp>

#include <string>

using maso::vq::basic_beta;
using maso::vq::beta;

BOOST_AUTO_TEST_CASE(the_special_values) {
    BOOST_CHECK_EQUAL(beta::from_beta(0.f).eta(), 0.f);
    BOOST_CHECK_EQUAL(beta::from_beta(0.5f).eta(), 1.f);
    BOOST_CHECK(beta::from_beta(1.f).is_hard());
    BOOST_CHECK(!beta::from_beta(0.999999f).is_hard());
    BOOST_CHECK_CLOSE(beta::from_beta(0.9f).eta(), 9.f, 1e-4); // percent
    BOOST_CHECK_EQUAL(beta::from_beta(0.f).value(), 0.f);
    BOOST_CHECK_EQUAL(beta::from_beta(1.f).value(), 1.f);
}

BOOST_AUTO_TEST_CASE(round_trips_and_eta_is_beta_over_one_minus_beta) {
    for (double b : {1e-9, 0.01, 0.3, 0.5, 0.77, 0.99, 1 - 1e-9}) {
        const auto p = basic_beta<double>::from_beta(b);
        MASO_CHECK_CLOSE(p.value(), b, 1e-12, 0);
        MASO_CHECK_CLOSE(p.eta(), b / (1 - b), 1e-7, 0); // 1−b itself carries the rounding
        MASO_CHECK_CLOSE(basic_beta<double>::from_eta(p.eta()).theta, p.theta, 1e-12, 1);
        // dβ/dθ = β(1−β), against finite differences
        const double fd = maso_test::central_difference(
            [](double t) { return basic_beta<double>{t}.value(); }, p.theta);
        MASO_CHECK_DERIVATIVE(p.dbeta_dtheta(), fd, b);
    }
    // θ far out on either side: β saturates without NaN.
    BOOST_CHECK_EQUAL(basic_beta<double>{800}.value(), 1.0);
    BOOST_CHECK_EQUAL(basic_beta<double>{-800}.value(), 0.0);
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused_and_named) {
    auto expect = [](auto make, const std::string& what) {
        try {
            make();
            BOOST_ERROR("accepted " << what);
        } catch (const maso::value_error& e) {
            BOOST_CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
        }
    };
    expect([] { return beta::from_beta(-0.1f); }, "beta = -0.1");
    expect([] { return beta::from_beta(1.5f); }, "beta = 1.5");
    expect([] { return beta::from_beta(std::nanf("")); }, "outside [0, 1]");
    expect([] { return beta::from_eta(-2.f); }, "eta = -2");
    expect([] { return beta::from_theta(std::nanf("")); }, "theta is NaN");
}
