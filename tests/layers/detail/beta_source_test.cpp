// Tests of include/maso/layers/detail/beta_source.hpp: where a layer finds its β and puts ∂L/∂θ.
#include <maso/layers/detail/beta_source.hpp>

#include <maso_test/check.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using maso::beta_spec;
using maso::learnable;
using maso::learnable_per_channel;
using maso::detail::beta_source;

BOOST_AUTO_TEST_CASE(fixed_beta_has_no_parameters) {
    const beta_source<double> b(beta_spec(0.9f), "test");
    BOOST_CHECK_EQUAL(b.parameter_count(7), 0u);
    const std::vector<double> none;
    std::vector<double> grads;
    for (std::size_t c = 0; c < 7; ++c) {
        // θ = logit(0.9f), η = 9 up to 0.9f's rounding
        MASO_CHECK_CLOSE(b.of(none, c).theta, std::log(0.9 / 0.1), 1e-6, 0);
        MASO_CHECK_CLOSE(b.of(none, c).eta(), 9.0, 1e-6, 0);
        BOOST_CHECK(b.gradient(grads, c) == nullptr);
        b.add_gradient(grads, c, 1.0, 9.0); // nowhere to go: nothing happens
    }
    // β = 1 fixed is the hard path; β = 0 is η = 0.
    BOOST_CHECK(beta_source<float>(beta_spec(1.f), "test").of({}, 0).is_hard());
    BOOST_CHECK_EQUAL(beta_source<float>(beta_spec(0.f), "test").of({}, 3).eta(), 0.f);
}

BOOST_AUTO_TEST_CASE(learnable_beta_is_one_theta_for_the_layer) {
    const beta_source<double> b(learnable(0.25f), "test");
    BOOST_REQUIRE_EQUAL(b.parameter_count(5), 1u);
    std::vector<double> params(1), grads(1, 0.5);
    b.initialize(params);
    MASO_CHECK_CLOSE(params[0], std::log(0.25 / 0.75), 1e-7, 0); // θ = logit(β)
    params[0] = 0.3;
    for (std::size_t c = 0; c < 5; ++c) {
        BOOST_CHECK_EQUAL(b.of(params, c).theta, 0.3);
        BOOST_CHECK(b.gradient(grads, c) == grads.data());
    }
    b.add_gradient(grads, 4, 2.0, 3.0); // ∂L/∂θ = η ∂L/∂η, added
    BOOST_CHECK_EQUAL(grads[0], 0.5 + 6.0);
    // η = ∞ with ∂L/∂η = 0 adds 0, not ∞·0 = NaN
    b.add_gradient(grads, 0, 0.0, std::numeric_limits<double>::infinity());
    BOOST_CHECK_EQUAL(grads[0], 6.5);
}

BOOST_AUTO_TEST_CASE(learnable_per_channel_is_one_theta_per_channel) {
    const beta_source<float> b(learnable_per_channel(0.5f), "test");
    BOOST_REQUIRE_EQUAL(b.parameter_count(3), 3u);
    std::vector<float> params(3, 9.f), grads(3, 0.f);
    b.initialize(params);
    BOOST_CHECK(params == (std::vector<float>{0.f, 0.f, 0.f})); // logit(½) = 0
    params = {-1.f, 0.f, 2.f};
    for (std::size_t c = 0; c < 3; ++c) {
        BOOST_CHECK_EQUAL(b.of(params, c).theta, params[c]);
        BOOST_CHECK(b.gradient(grads, c) == grads.data() + c);
        b.add_gradient(grads, c, 1.f, float(c + 1));
    }
    BOOST_CHECK(grads == (std::vector<float>{1.f, 2.f, 3.f}));
}

BOOST_AUTO_TEST_CASE(the_spec_is_validated_with_the_layer_name) {
    for (const beta_spec bad : {beta_spec(1.5f), beta_spec(-0.1f), learnable(1.f)}) {
        try {
            beta_source<float>(bad, "softpool");
            BOOST_ERROR("accepted " << bad.label());
        } catch (const maso::value_error& e) {
            BOOST_CHECK(std::string(e.what()).find("softpool") != std::string::npos);
        }
    }
}
