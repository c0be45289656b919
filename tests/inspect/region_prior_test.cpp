// Tests of include/maso/inspect/region_prior.hpp: Theorem 2's prior makes the GMM's
// posterior the unit's softmax over its regions, for every unit of one input; Proposition 1's
// bias gives the uniform prior; a Glorot-initialised ReLU layer favours the active region as
// paper-spec §6 derives.
#include <maso/inspect/region_prior.hpp>
#include <maso/maso.hpp>

#include <maso_test/check.hpp>

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace maso;

namespace {

/// p(t = r | x) of the mixture x = A_t + ε, ε ~ N(0, I), t ~ Cat(π), straight from its
/// definition: π_r·exp(−½‖x − A_r‖²), normalised.
template <std::size_t R>
std::array<double, R> gmm_posterior(const std::array<double, R>& prior,
                                    const std::array<std::vector<double>, R>& means,
                                    const std::vector<double>& x) {
    std::array<double, R> p{};
    double sum = 0;
    for (std::size_t r = 0; r < R; ++r) {
        double d = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            d += (x[i] - means[r][i]) * (x[i] - means[r][i]);
        sum += p[r] = prior[r] * std::exp(-0.5 * d);
    }
    for (double& v : p)
        v /= sum;
    return p;
}

/// For random rows (w, b) and inputs x: the GMM posterior with Theorem 2's prior equals
/// softmax_r z_r(x), z_r = s_r·(<w, x> + b) + o_r.
template <class Unit>
void check_posterior(const Unit& unit) {
    constexpr std::size_t R = Unit::regions, D = 5;
    std::mt19937_64 rng(7);
    std::normal_distribution<double> n(0, 0.6);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<double> w(D), x(D);
        for (double& v : w)
            v = n(rng);
        for (double& v : x)
            v = 2 * n(rng);
        const double b = n(rng);
        const auto prior = inspect::region_prior(unit, std::span<const double>(w), b);
        std::array<std::vector<double>, R> means;
        std::array<double, R> z{};
        double wx = b;
        for (std::size_t i = 0; i < D; ++i)
            wx += w[i] * x[i];
        for (std::size_t r = 0; r < R; ++r) {
            const double s = unit.template slope<double>(r, 0);
            for (const double v : w)
                means[r].push_back(s * v);
            z[r] = s * wx + unit.template offset<double>(r);
        }
        const auto p = gmm_posterior(prior, means, x);
        double top = z[0], sum = 0;
        for (const double v : z)
            top = std::max(top, v);
        for (const double v : z)
            sum += std::exp(v - top);
        for (std::size_t r = 0; r < R; ++r)
            BOOST_TEST_CONTEXT("trial " << trial << ", region " << r)
        MASO_CHECK_CLOSE(p[r], std::exp(z[r] - top) / sum, 1e-12, 1e-300);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(the_prior_makes_the_posterior_the_units_softmax) {
    BOOST_TEST_CONTEXT("relu") check_posterior(vq::relu{});
    BOOST_TEST_CONTEXT("leaky relu") check_posterior(vq::leaky_relu{0.1});
    BOOST_TEST_CONTEXT("absolute value") check_posterior(vq::absolute{});
    BOOST_TEST_CONTEXT("two knots (three regions)") check_posterior(vq::two_knot{});
}

BOOST_AUTO_TEST_CASE(proposition_1_bias_gives_the_uniform_prior) {
    const std::vector<double> w{0.3, -1.2, 0.8};
    const double norm2 = 0.09 + 1.44 + 0.64;
    // ReLU: A = (0, w), B = (0, b); b = −½‖w‖² makes B_r = −½‖A_r‖² for both regions.
    const auto relu = inspect::region_prior(vq::relu{}, std::span<const double>(w), -norm2 / 2);
    BOOST_TEST(relu[0] == 0.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(relu[1] == 0.5, boost::test_tools::tolerance(1e-12));
    // Without a bias the active region is favoured: π_1 = σ(½‖w‖²).
    const auto active = inspect::region_prior(vq::relu{}, std::span<const double>(w), 0.0);
    BOOST_TEST(active[1] == 1 / (1 + std::exp(-norm2 / 2)), boost::test_tools::tolerance(1e-12));
    // Absolute value (A = ±w, B = ±b): uniform at b = 0 for any scale.
    for (const double scale : {0.01, 1.0, 30.0}) {
        std::vector<double> big(w);
        for (double& v : big)
            v *= scale;
        const auto abs = inspect::region_prior(vq::absolute{}, std::span<const double>(big), 0.0);
        BOOST_TEST(abs[0] == 0.5, boost::test_tools::tolerance(1e-12));
    }
}

BOOST_AUTO_TEST_CASE(large_rows_do_not_overflow) {
    const std::vector<float> w(100, 10.f); // ½‖w‖² = 5000: exp overflows unshifted
    const auto p = inspect::region_prior(vq::relu{}, std::span<const float>(w), 0.f);
    BOOST_TEST(p[1] == 1.0);
    BOOST_TEST(p[0] >= 0.0);
    BOOST_TEST(std::isfinite(p[0]));
}

// paper-spec §6: Glorot-uniform rows have E‖w‖² = 2·fan_in/(fan_in + fan_out) = 1 for a
// square layer, so a ReLU layer's prior is close to σ(½) = 0.622 on every unit.
BOOST_AUTO_TEST_CASE(a_glorot_relu_layer_favours_the_active_region) {
    auto m =
        instantiate(input<256>() >> dense<256>() >> hard_vq<relu>(), 1, fuse::all, {.seed = 3});
    const auto params = m.parameters<1>();
    const std::span<const float> weights(params.data(), 256 * 256),
        bias(params.data() + 256 * 256, 256);
    const auto priors = inspect::region_priors(vq::relu{}, weights, bias);
    BOOST_REQUIRE_EQUAL(priors.size(), 256u);
    const auto s = inspect::summarise(priors);
    BOOST_TEST(s.mean[1] == 1 / (1 + std::exp(-0.5)), boost::test_tools::tolerance(0.01));
    BOOST_TEST(s.min[1] > 0.5);
    BOOST_TEST(s.max[1] < 0.75);
    BOOST_TEST(s.mean[0] + s.mean[1] == 1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(rows_that_do_not_divide_are_refused) {
    const std::vector<float> w(10), b(3);
    BOOST_CHECK_THROW(
        inspect::region_priors(vq::relu{}, std::span<const float>(w), std::span<const float>(b)),
        value_error);
}
