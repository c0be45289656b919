// Tests of include/maso/train/schedule.hpp: each schedule at chosen steps against its formula
// evaluated here (and, where it is exact, against the value worked out by hand), a warm-up
// composed with the others, describe(), and refused arguments.
#include <maso/train/schedule.hpp>

#include <maso_test/check.hpp>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

using namespace maso;

namespace {

template <class F>
std::string refusal(F&& f) {
    try {
        f();
    } catch (const value_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(constant_is_the_rate_at_every_step) {
    const schedule s = constant_lr(0.005);
    for (const std::uint64_t t : {0ull, 1ull, 1000ull, 1ull << 40})
        BOOST_CHECK_EQUAL(s(t), 0.005);
    BOOST_CHECK_EQUAL(s.describe(), "constant_lr(0.005)");
}

BOOST_AUTO_TEST_CASE(step_multiplies_by_gamma_every_so_many_steps) {
    const schedule s = step_lr(0.1, 30, 0.5);
    // Powers of ½ are exact: 0.1, then 0.05 from step 30, 0.025 from step 60.
    BOOST_CHECK_EQUAL(s(0), 0.1);
    BOOST_CHECK_EQUAL(s(29), 0.1);
    BOOST_CHECK_EQUAL(s(30), 0.05);
    BOOST_CHECK_EQUAL(s(59), 0.05);
    BOOST_CHECK_EQUAL(s(60), 0.025);
    MASO_CHECK_CLOSE(s(300), 0.1 / 1024, 1e-15, 0);
    MASO_CHECK_CLOSE(step_lr(1e-3, 7, 0.1)(15), 1e-5, 1e-14, 0);
    BOOST_CHECK_EQUAL(s.describe(), "step_lr(0.1, 30, 0.5)");
}

BOOST_AUTO_TEST_CASE(cosine_goes_from_lr_to_the_minimum_in_half_a_period) {
    const schedule s = cosine_lr(0.1, 100, 0.001);
    BOOST_CHECK_EQUAL(s(0), 0.1);
    MASO_CHECK_CLOSE(s(50), (0.1 + 0.001) / 2, 1e-14, 0);                        // cos(π/2) = 0
    MASO_CHECK_CLOSE(s(25), 0.001 + 0.099 * (1 + std::sqrt(0.5)) / 2, 1e-14, 0); // cos(π/4)
    MASO_CHECK_CLOSE(s(75), 0.001 + 0.099 * (1 - std::sqrt(0.5)) / 2, 1e-14, 0);
    MASO_CHECK_CLOSE(s(100), 0.001, 1e-14, 0);
    MASO_CHECK_CLOSE(s(1000), 0.001, 1e-14, 0); // after the end: the minimum
    for (std::uint64_t t = 0; t < 100; ++t)
        BOOST_CHECK_GT(s(t), s(t + 1)); // strictly decreasing over the period
    MASO_CHECK_CLOSE(cosine_lr(2, 3)(1), 2 * (1 + std::cos(std::numbers::pi / 3)) / 2, 1e-15, 0);
    BOOST_CHECK_EQUAL(cosine_lr(2, 3)(3), 0.0);
    BOOST_CHECK_EQUAL(s.describe(), "cosine_lr(0.1, 100, 0.001)");
}

BOOST_AUTO_TEST_CASE(warmup_rises_linearly_then_runs_the_schedule_it_wraps) {
    const schedule w = linear_warmup(4, constant_lr(0.8));
    // (t + 1)/4 of 0.8 for t < 4: 0.2, 0.4, 0.6, 0.8; then 0.8.
    const std::vector<double> expected{0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8};
    for (std::uint64_t t = 0; t < expected.size(); ++t)
        MASO_CHECK_CLOSE(w(t), expected[t], 1e-15, 0);
    // Around a cosine: the cosine starts after the warm-up, from its own step 0.
    const schedule c = cosine_lr(1e-3, 1000);
    const schedule wc = linear_warmup(100, c);
    MASO_CHECK_CLOSE(wc(0), 1e-5, 1e-14, 0);
    MASO_CHECK_CLOSE(wc(49), 5e-4, 1e-14, 0);
    BOOST_CHECK_EQUAL(wc(99), 1e-3);
    for (const std::uint64_t t : {100ull, 101ull, 600ull, 1099ull, 1100ull, 5000ull})
        BOOST_CHECK_EQUAL(wc(t), c(t - 100));
    // Around a step schedule, and around another warm-up.
    const schedule ws = linear_warmup(10, step_lr(0.5, 20, 0.5));
    BOOST_CHECK_EQUAL(ws(10), 0.5);
    BOOST_CHECK_EQUAL(ws(30), 0.25);
    const schedule nested = linear_warmup(2, linear_warmup(2, constant_lr(1)));
    MASO_CHECK_CLOSE(nested(0), 0.25, 1e-15, 0); // ½ of the inner warm-up's first 0.5
    BOOST_CHECK_EQUAL(nested(1), 0.5);
    BOOST_CHECK_EQUAL(nested(3), 1.0);
    BOOST_CHECK_EQUAL(wc.describe(), "linear_warmup(100, cosine_lr(0.001, 1000, 0))");
    // A schedule is a value: copies evaluate alike after the original is gone.
    schedule copy = constant_lr(1);
    {
        const schedule tmp = linear_warmup(3, step_lr(0.3, 2, 0.1));
        copy = tmp;
    }
    MASO_CHECK_CLOSE(copy(0), 0.1, 1e-15, 0);
    MASO_CHECK_CLOSE(copy(5), 0.03, 1e-15, 0);
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_refused_naming_the_function_and_value) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    BOOST_CHECK_EQUAL(refusal([] { constant_lr(0); }),
                      "maso: constant_lr: lr = 0 must be finite and positive");
    BOOST_CHECK_EQUAL(refusal([&] { constant_lr(nan); }),
                      "maso: constant_lr: lr = nan must be finite and positive");
    BOOST_CHECK_EQUAL(refusal([&] { step_lr(inf, 1, 0.5); }),
                      "maso: step_lr: lr = inf must be finite and positive");
    BOOST_CHECK_EQUAL(refusal([] { step_lr(0.1, 0, 0.5); }),
                      "maso: step_lr: every = 0 must be at least 1");
    BOOST_CHECK_EQUAL(refusal([] { step_lr(0.1, 5, -0.5); }),
                      "maso: step_lr: gamma = -0.5 must be finite and positive");
    BOOST_CHECK_EQUAL(refusal([] { cosine_lr(0.1, 0); }),
                      "maso: cosine_lr: steps = 0 must be at least 1");
    BOOST_CHECK_EQUAL(refusal([] { cosine_lr(0.1, 10, 0.2); }),
                      "maso: cosine_lr: min_lr = 0.2 is outside [0, lr = 0.1]");
    BOOST_CHECK_EQUAL(refusal([] { cosine_lr(0.1, 10, -1e-3); }),
                      "maso: cosine_lr: min_lr = -0.001 is outside [0, lr = 0.1]");
    BOOST_CHECK_EQUAL(refusal([] { linear_warmup(0, constant_lr(1)); }),
                      "maso: linear_warmup: steps = 0 must be at least 1");
    BOOST_CHECK_EQUAL(refusal([] { cosine_lr(0.1, 10, 0.1); }), ""); // min = lr: constant
    BOOST_CHECK_EQUAL(refusal([] { step_lr(0.1, 1, 2); }), "");      // γ > 1 grows: allowed
}
