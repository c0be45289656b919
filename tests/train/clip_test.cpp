// Tests of include/maso/train/clip.hpp: the norm against one computed here, clipping to
// max_norm, no change at all below it, a model's every gradient, a non-finite norm refused
// with the gradients left alone, bitwise equal results at 1 and 2 threads, no allocation.
#include <maso/maso.hpp>
#include <maso/train/clip.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace maso;

namespace {

/// ‖g‖ in long double, one term after another.
long double norm_of(const std::vector<float>& g) {
    long double s = 0;
    for (const float x : g)
        s += (long double)x * x;
    return std::sqrt(s);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_three_four_five_gradient_is_scaled_to_max_norm) {
    std::vector<float> g{3.f, 0.f, -4.f};
    const double norm = clip_gradient_norm(g, 1.0);
    BOOST_CHECK_EQUAL(norm, 5.0);
    // The factor is 1/(5 + 1e-6), as PyTorch's clip_grad_norm_.
    MASO_CHECK_CLOSE(g[0], 3 / (5 + 1e-6), 1e-7, 0);
    BOOST_CHECK_EQUAL(g[1], 0.f);
    MASO_CHECK_CLOSE(g[2], -4 / (5 + 1e-6), 1e-7, 0);
    MASO_CHECK_CLOSE(norm_of(g), 1.0, 1e-6, 0);
}

BOOST_AUTO_TEST_CASE(below_or_at_the_threshold_nothing_changes) {
    std::vector<float> g{0.1f, -0.2f, 0.3f};
    const std::vector<float> g0 = g;
    MASO_CHECK_CLOSE(clip_gradient_norm(g, 1.0), std::sqrt(0.14), 1e-7, 0);
    BOOST_CHECK(g == g0);
    std::vector<float> h{3.f, 4.f};
    BOOST_CHECK_EQUAL(clip_gradient_norm(h, 5.0), 5.0); // at max_norm: not clipped
    BOOST_CHECK(h == (std::vector<float>{3.f, 4.f}));
    std::vector<float> none;
    BOOST_CHECK_EQUAL(clip_gradient_norm(none, 1.0), 0.0);
}

BOOST_AUTO_TEST_CASE(a_long_gradient_against_a_norm_computed_here) {
    const auto g0 = maso_test::uniform_vector<float>(100003, -1, 1);
    std::vector<float> g = g0;
    const long double expected = norm_of(g0);
    const double norm = clip_gradient_norm(g, 10.0);
    MASO_CHECK_CLOSE(norm, double(expected), 1e-12, 0);
    const double factor = 10.0 / (double(expected) + 1e-6);
    for (std::size_t i = 0; i < g.size(); i += 997)
        MASO_CHECK_CLOSE(g[i], g0[i] * factor, 1e-6, 1e-6);
}

BOOST_AUTO_TEST_CASE(a_model_clips_every_gradient_together) {
    const auto net = input<4>() >> dense<3>() >> beta_vq<relu>(learnable(0.5f)) >> dense<2>();
    auto m = instantiate(net, 2);
    std::vector<float> x{0.5f, -1.f, 2.f, 1.f, 0.f, 3.f, -2.f, 1.f}, dy{1.f, -2.f, 0.5f, 3.f};
    m.zero_gradients();
    m.forward(x);
    m.backward(dy);
    const std::vector<float> g0(m.gradients().begin(), m.gradients().end());
    long double sum = 0; // every tensor of state_dict() that has a gradient, θ included
    for (const auto& p : m.state_dict())
        for (const float v : p.gradient)
            sum += (long double)v * v;
    const double expected = double(std::sqrt(sum));
    BOOST_REQUIRE_GT(expected, 0.1);
    const double norm = clip_gradient_norm(m, expected / 4);
    MASO_CHECK_CLOSE(norm, expected, 1e-12, 0);
    for (std::size_t i = 0; i < g0.size(); ++i)
        MASO_CHECK_CLOSE(m.gradients()[i], g0[i] / 4.0, 1e-6, 1e-6);
    const auto theta = m.gradients<2>();
    BOOST_REQUIRE_EQUAL(theta.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_non_finite_norm_is_refused_and_the_gradients_left) {
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        std::vector<float> g{1.f, bad, 2.f};
        std::string message;
        try {
            clip_gradient_norm(g, 1.0);
        } catch (const numeric_error& e) {
            message = e.what();
        }
        BOOST_CHECK_EQUAL(message, std::string("maso: clip_gradient_norm: the gradient norm is ") +
                                       (std::isnan(bad) ? "nan" : "inf") +
                                       "; the gradients are left as they were");
        BOOST_CHECK_EQUAL(g[0], 1.f);
        BOOST_CHECK_EQUAL(g[2], 2.f);
    }
    std::vector<float> g{1.f};
    for (const double max : {0.0, -1.0, std::numeric_limits<double>::infinity()})
        BOOST_CHECK_THROW(clip_gradient_norm(g, max), value_error);
    try {
        clip_gradient_norm(g, -0.5);
    } catch (const value_error& e) {
        BOOST_CHECK_EQUAL(std::string(e.what()),
                          "maso: clip_gradient_norm: max_norm = -0.5 must be finite and positive");
    }
}

BOOST_AUTO_TEST_CASE(bitwise_the_same_at_one_and_two_threads) {
    const auto g0 = maso_test::uniform_vector<float>(70001, -3, 3);
    maso_test::thread_count_guard guard;
    std::vector<std::vector<float>> clipped;
    std::vector<double> norms;
    for (const std::size_t threads : {1u, 2u}) {
        set_num_threads(threads);
        std::vector<float> g = g0;
        norms.push_back(clip_gradient_norm(g, 1.0));
        clipped.push_back(g);
    }
    BOOST_CHECK_EQUAL(norms[0], norms[1]); // exactly
    BOOST_CHECK(clipped[0] == clipped[1]);
    BOOST_CHECK(clipped[0] != g0);
}

BOOST_AUTO_TEST_CASE(no_allocation) {
    auto g = maso_test::uniform_vector<float>(5000, -1, 1);
    clip_gradient_norm(g, 0.5); // the pool starts its threads at its first multi-threaded call
    const long before = maso_test::allocations();
    for (int k = 0; k < 3; ++k)
        clip_gradient_norm(g, 0.5);
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
}
