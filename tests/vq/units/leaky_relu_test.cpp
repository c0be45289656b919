// Tests of include/maso/vq/units/leaky_relu.hpp.
#include <maso/vq/units/leaky_relu.hpp>

#include <maso_test/unit_laws.hpp>

#include <string>

using namespace maso::vq;

BOOST_AUTO_TEST_CASE(laws) {
    maso_test::check_unit_laws(leaky_relu{});
    maso_test::check_unit_laws(leaky_relu{0.2});
    maso_test::check_unit_laws(leaky_relu{0.0});
}

BOOST_AUTO_TEST_CASE(closed_form) { // paper-spec §4.2
    for (double a : {0.01, 0.2, 0.5})
        for (double eta : {0.0, 0.5, 1.0, 9.0})
            for (double z = -4; z <= 4; z += 0.3) {
                const double u = eta * (1 - a) * z;
                const double p2 = maso_test::sigmoid(u), pp = maso_test::sigmoid_slope(u);
                MASO_CHECK_CLOSE(beta_forward(leaky_relu{a}, std::array{z}, eta),
                                 z * (a + (1 - a) * p2), 1e-13, 1e-13);
                const auto g = beta_backward(leaky_relu{a}, std::array{z}, eta, 1.0);
                MASO_CHECK_CLOSE(g.dx[0],
                                 a + (1 - a) * p2 + (1 - a) * (1 - a) * eta * z * pp,
                                 1e-12, 1);
                MASO_CHECK_CLOSE(g.deta, (1 - a) * (1 - a) * z * z * pp, 1e-12, 0);
            }
    // β = 0: (1+a) z / 2
    MASO_CHECK_CLOSE(beta_forward(leaky_relu{0.2}, std::array{3.0}, 0.0), 1.8, 1e-15, 0);
    BOOST_CHECK_EQUAL(hard_forward(leaky_relu{0.2}, std::array{-3.0}), 0.2 * -3.0);
}

BOOST_AUTO_TEST_CASE(bad_slope_is_refused_with_its_value) {
    for (double a : {-0.1, 1.0, 2.5, std::nan("")}) {
        try {
            leaky_relu unit{a};
            BOOST_ERROR("slope " << a << " was accepted");
        } catch (const maso::value_error& e) {
            BOOST_CHECK(std::string(e.what()).find("leaky_relu slope") != std::string::npos);
            BOOST_CHECK(std::string(e.what()).find("[0, 1)") != std::string::npos);
        }
    }
    BOOST_CHECK_NO_THROW(leaky_relu{0.99});
}
