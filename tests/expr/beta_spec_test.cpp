// Tests of include/maso/expr/beta_spec.hpp.
#include <maso/expr/beta_spec.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

BOOST_AUTO_TEST_CASE(kinds_and_parameter_counts) {
    constexpr beta_spec fixed = 0.9f;
    static_assert(!fixed.learnable && fixed.parameter_count(96) == 0);
    static_assert(learnable(0.5f).parameter_count(96) == 1);
    static_assert(learnable_per_channel(0.5f).parameter_count(96) == 96);
    BOOST_CHECK_EQUAL(learnable_per_channel(0.25f).label(), "β = 0.25, learnable per channel");
    BOOST_CHECK_EQUAL(beta_spec(0.9f).label(), "β = 0.9");
}

BOOST_AUTO_TEST_CASE(validation_names_the_layer_and_value) {
    BOOST_CHECK_NO_THROW(beta_spec(1.f).validate("x"));
    try {
        learnable(1.f).validate("softpool");
        BOOST_ERROR("accepted a learnable β = 1");
    } catch (const value_error& e) {
        BOOST_CHECK(std::string(e.what()).find("softpool") != std::string::npos);
    }
    BOOST_CHECK_THROW(learnable(0.f).validate("beta_vq"), value_error); // θ = −∞ never trains
    try {
        beta_spec(2.f).validate("beta_vq");
        BOOST_ERROR("accepted β = 2");
    } catch (const value_error& e) {
        BOOST_CHECK(std::string(e.what()).find("beta = 2") != std::string::npos);
    }
}
