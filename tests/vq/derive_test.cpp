// Tests of include/maso/vq/derive.hpp: the derivation on a unit with general
// affine regions (non-zero offsets, several inputs), and the posterior's edges.
#define BOOST_TEST_MODULE vq.derive
#include <maso/vq/derive.hpp>

#include <maso_test/unit_laws.hpp>

using namespace maso::vq;

// A made-up unit: 3 regions, each an affine map of 2 inputs with an offset
// (paper-spec §1: v_r = <A_r, x> + B_r). It exercises every term of the chain
// rule that ReLU-like units leave at zero.
struct affine3 {
    static constexpr std::size_t inputs = 2;
    static constexpr std::size_t regions = 3;
    static constexpr double A[3][2] = {{0.5, -1.0}, {2.0, 0.25}, {-1.5, 1.0}};
    static constexpr double B[3] = {0.3, -0.2, 0.1};
    template <class T>
    constexpr T slope(std::size_t r, std::size_t i) const noexcept {
        return T(A[r][i]);
    }
    template <class T>
    constexpr T offset(std::size_t r) const noexcept {
        return T(B[r]);
    }
};
static_assert(spline_unit<affine3> && !elementwise_unit<affine3> && !selection_unit<affine3>);

BOOST_AUTO_TEST_CASE(laws_on_general_affine_regions) { maso_test::check_unit_laws(affine3{}); }

BOOST_AUTO_TEST_CASE(regions_are_the_affine_maps) {
    const std::array<double, 2> x{1.5, -2.0};
    const auto v = regions_of(affine3{}, x);
    for (std::size_t r = 0; r < 3; ++r)
        BOOST_CHECK_EQUAL(v[r], affine3::A[r][0] * x[0] + affine3::A[r][1] * x[1] + affine3::B[r]);
    // chain rule through the slopes: dx_i = Σ_r g_r A_ri
    const double eta = 1.3;
    const auto q = posterior_of(v, eta);
    const auto g = beta_backward(affine3{}, x, eta, 1.0);
    for (std::size_t i = 0; i < 2; ++i) {
        double expect = 0;
        for (std::size_t r = 0; r < 3; ++r)
            expect += q.p[r] * (1 + eta * (v[r] - q.mean)) * affine3::A[r][i];
        MASO_CHECK_CLOSE(g.dx[i], expect, 1e-13, 1);
    }
}

BOOST_AUTO_TEST_CASE(posterior_edges) {
    const std::array<double, 3> v{1.0, 2.0, -3.0};
    const auto uniform = posterior_of(v, 0.0);
    for (double p : uniform.p)
        BOOST_CHECK_EQUAL(p, 1.0 / 3);
    const auto hard = posterior_of(v, std::numeric_limits<double>::infinity());
    BOOST_CHECK_EQUAL(hard.p[1], 1.0);
    BOOST_CHECK_EQUAL(hard.mean, 2.0);
    BOOST_CHECK_EQUAL(hard.variance, 0.0);
    // The variance form never cancels to a negative number.
    const std::array<double, 2> close_pair{1e8, 1e8 + 1};
    BOOST_CHECK_GE(posterior_of(close_pair, 0.5).variance, 0.0);
    // ∂y/∂β = Var·(1+η)², ∂y/∂θ = η·Var; zero on the hard path.
    const auto g = beta_backward(affine3{}, std::array<double, 2>{0.2, 0.4}, 2.0, 1.0);
    MASO_CHECK_CLOSE(g.dbeta(2.0), g.deta * 9, 1e-14, 0);
    MASO_CHECK_CLOSE(g.dtheta, g.deta * 2, 1e-14, 0);
    BOOST_CHECK_EQUAL(hard_backward(affine3{}, std::array<double, 2>{0.2, 0.4}, 1.0).dbeta(2.0),
                      0.0);
}
