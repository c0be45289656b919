// Tests of include/maso/vq/region_pass.hpp, built once per ISA, for every unit of the
// registry (maso_test/unit_registry.hpp): the region passes equal vq/derive.hpp's reference
// math (hard and β-VQ: y, ∂y/∂z, ∂y/∂θ) in double; SIMD equals scalar across loop tails in
// float and double; for two-region units they equal the closed forms of vq/elementwise.hpp.
#include <maso/vq/derive.hpp>
#include <maso/vq/kernel.hpp>
#include <maso/vq/region_pass.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/unit_registry.hpp>

#include <cmath>
#include <vector>

using namespace maso::vq;
using maso::simd::scalar_arch;
using maso_test::test_arch;

namespace {

const std::vector<double> etas{0.0, 0.3, 1.0, 4.0, 1e3};

/// z values around the knots and far out.
std::vector<double> sample_z() {
    std::vector<double> z;
    for (double v = -3.05; v <= 3.05; v += 0.1)
        z.push_back(v);
    for (const double v : {-1e3, -40.0, 0.0, 0.5, 1.0, 40.0, 1e3})
        z.push_back(v);
    return z;
}

template <class Unit>
void check_reference(const Unit& unit) {
    const region_hard_pass<Unit, double> hard(unit);
    for (const double z : sample_z()) {
        const std::array<double, 1> x{z};
        double dummy = 0;
        BOOST_TEST_CONTEXT("hard, z = " << z) {
            MASO_CHECK_CLOSE(hard.forward(z), hard_forward(unit, x), 1e-15, 1e-300);
            MASO_CHECK_CLOSE(hard.backward(z, 0.7, dummy), hard_backward(unit, x, 0.7).dx[0], 1e-15,
                             1e-300);
        }
        for (const double eta : etas) {
            const region_beta_pass<Unit, double> beta(unit, basic_beta<double>::from_eta(eta));
            const auto g = beta_backward(unit, x, eta, 0.7);
            double dtheta = 0;
            const double dz = beta.backward(z, 0.7, dtheta);
            BOOST_TEST_CONTEXT("β-VQ, η = " << eta << ", z = " << z) {
                MASO_CHECK_CLOSE(beta.forward(z), beta_forward(unit, x, eta), 1e-12, 1e-12);
                MASO_CHECK_CLOSE(dz, g.dx[0], 1e-11, 1e-11);
                MASO_CHECK_CLOSE(dtheta, g.dtheta, 1e-10, 1e-10);
            }
        }
    }
}

template <class T, class Pass>
void check_simd_equals_scalar(const Pass& pass) {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size;
    const double tol = std::is_same_v<T, float> ? 3e-6 : 1e-13;
    for (const std::size_t n : {std::size_t(1), W - 1, W, W + 1, 3 * W + 1}) {
        if (n == 0) continue;
        const auto z = maso_test::uniform_vector<T>(n, -3, 3);
        const auto dy = maso_test::uniform_vector<T>(n, -1, 1);
        std::vector<T> y(n), y_ref(n), dz(n), dz_ref(n);
        forward(test_arch{}, pass, std::span<const T>(z), std::span<T>(y));
        forward(scalar_arch{}, pass, std::span<const T>(z), std::span<T>(y_ref));
        const T dth = backward(test_arch{}, pass, std::span<const T>(z), std::span<const T>(dy),
                               std::span<T>(dz));
        const T dth_ref = backward(scalar_arch{}, pass, std::span<const T>(z),
                                   std::span<const T>(dy), std::span<T>(dz_ref));
        for (std::size_t i = 0; i < n; ++i)
            BOOST_TEST_CONTEXT("n = " << n << ", z = " << z[i]) {
                MASO_CHECK_CLOSE(y[i], y_ref[i], tol, 1);
                MASO_CHECK_CLOSE(dz[i], dz_ref[i], tol, 1);
            }
        BOOST_TEST_CONTEXT("n = " << n) MASO_CHECK_CLOSE(dth, dth_ref, tol * 10, double(n));
    }
}

template <class T, class Unit>
void check_simd(const Unit& unit) {
    BOOST_TEST_CONTEXT("hard") check_simd_equals_scalar<T>(region_hard_pass<Unit, T>(unit));
    for (const double eta : etas)
        BOOST_TEST_CONTEXT("η = " << eta)
    check_simd_equals_scalar<T>(region_beta_pass<Unit, T>(unit, basic_beta<T>::from_eta(T(eta))));
}

/// For two regions, the region passes and the closed forms agree.
template <class Unit>
void check_closed_forms(const Unit& unit) {
    if constexpr (Unit::regions == 2) {
        const hard_pass<Unit, double> closed_hard(unit);
        const region_hard_pass<Unit, double> hard(unit);
        for (const double z : sample_z()) {
            double a = 0, b = 0;
            BOOST_TEST(closed_hard.forward(z) == hard.forward(z));
            BOOST_TEST(closed_hard.backward(z, 0.3, a) == hard.backward(z, 0.3, b));
            for (const double eta : {0.3, 1.0, 4.0}) {
                const auto beta = basic_beta<double>::from_eta(eta);
                const beta_pass<Unit, double> closed(unit, beta);
                const region_beta_pass<Unit, double> region(unit, beta);
                double dc = 0, dr = 0;
                MASO_CHECK_CLOSE(closed.forward(z), region.forward(z), 1e-12, 1e-12);
                MASO_CHECK_CLOSE(closed.backward(z, 0.3, dc), region.backward(z, 0.3, dr), 1e-11,
                                 1e-11);
                MASO_CHECK_CLOSE(dc, dr, 1e-10, 1e-10);
            }
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(region_passes_equal_the_reference_math) {
    maso_test::for_each_unit([](const auto& unit) {
        BOOST_TEST_CONTEXT(unit.name()) check_reference(unit);
    });
}

BOOST_AUTO_TEST_CASE(simd_equals_scalar_across_tails) {
    maso_test::for_each_unit([](const auto& unit) {
        BOOST_TEST_CONTEXT(unit.name() << ", float") check_simd<float>(unit);
        BOOST_TEST_CONTEXT(unit.name() << ", double") check_simd<double>(unit);
    });
}

BOOST_AUTO_TEST_CASE(two_regions_equal_the_closed_forms) {
    maso_test::for_each_unit([](const auto& unit) {
        BOOST_TEST_CONTEXT(unit.name()) check_closed_forms(unit);
    });
}

BOOST_AUTO_TEST_CASE(three_regions_take_the_region_passes) {
    static_assert(
        std::is_same_v<hard_pass_for<two_knot, float>, region_hard_pass<two_knot, float>>);
    static_assert(std::is_same_v<beta_pass_for<relu, float>, beta_pass<relu, float>>);
    // beta_vq_forward over an array, three regions: max(0, z, 2z − 1) at β = 1.
    const std::vector<float> z{-1.f, 0.5f, 3.f};
    std::vector<float> y(3);
    beta_vq_forward(test_arch{}, two_knot{}, basic_beta<float>::from_theta(INFINITY),
                    std::span<const float>(z), std::span<float>(y));
    BOOST_TEST(y[0] == 0.f);
    BOOST_TEST(y[1] == 0.5f);
    BOOST_TEST(y[2] == 5.f);
}
