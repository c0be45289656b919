// Tests of include/maso/layers/detail/plane_window.hpp, built once per ISA: a window of n
// members on lanes equals pool_window.hpp's window_pool for n = 1, W − 1, W, W + 1 and 3W + 1
// (every tail of the last batch), at η = 0, moderate and huge η, η = ∞ from a finite θ and on
// the hard path: forward and ∂L/∂v and ∂L/∂η with or without dv, ties to the first maximum.
#include <maso/layers/detail/plane_window.hpp>
#include <maso/layers/detail/pool_window.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

using namespace maso;
using maso_test::test_arch;

namespace {

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-13;

template <class T>
void check_size(std::size_t n, const vq::basic_beta<T>& beta, bool ties) {
    const detail::plane_window<T, test_arch> window(beta);
    const detail::window_pool<T> ref(beta);
    std::vector<T> v(n);
    for (auto& x : v)
        x = ties ? T(std::floor(maso_test::uniform(-1, 3))) : T(maso_test::uniform(-3, 3));
    const T dy = T(maso_test::uniform(0.5, 1.5));
    std::vector<T> dv(n, T(-7)), dv_ref(n);
    const T y = window.forward(v), y_ref = ref.forward(v);
    const T deta = window.backward(v, dy, dv), deta_ref = ref.backward(v, dy, dv_ref);
    const T deta_alone = window.backward(v, dy, {});
    const double tol = tolerance<T>;
    if (window.hard) {
        BOOST_CHECK_EQUAL(y, y_ref);
        BOOST_CHECK(dv == dv_ref); // one dy, on the first maximum
        BOOST_CHECK_EQUAL(deta, T(0));
    } else {
        MASO_CHECK_CLOSE(y, y_ref, tol, 3);
        // dv_j = dy p_j (1 + η (v_j − y)): y's rounding, which the lanes' order of summation
        // changes, comes in times η (|v| ≤ 3).
        const double spread = std::isinf(window.eta) ? 0 : double(window.eta); // beta_window's
        const double dv_scale = 1.5 * (1 + spread * 3);
        for (std::size_t j = 0; j < n; ++j)
            BOOST_TEST_CONTEXT("member " << j) MASO_CHECK_CLOSE(dv[j], dv_ref[j], tol, dv_scale);
        MASO_CHECK_CLOSE(deta, deta_ref, 4 * tol, 9);
    }
    BOOST_CHECK_EQUAL(deta_alone, deta);
}

template <class T>
void check_all() {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size;
    std::vector<vq::basic_beta<T>> betas;
    for (const double eta : {0.0, 0.5, 1.0, 9.0, 1e6})
        betas.push_back(vq::basic_beta<T>::from_eta(T(eta)));
    betas.push_back(vq::basic_beta<T>::from_theta(T(1000))); // η = ∞, not hard: ties averaged
    betas.push_back(vq::basic_beta<T>::from_beta(T(1)));     // the hard path
    for (const std::size_t n : {std::size_t(1), W - 1, W, W + 1, 3 * W + 1}) {
        if (n == 0) continue;
        for (const auto& beta : betas)
            for (const bool ties : {false, true})
                for (int round = 0; round < 8; ++round)
                    BOOST_TEST_CONTEXT("n = " << n << ", θ = " << beta.theta << ", ties " << ties)
        check_size<T>(n, beta, ties);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(float_window_equals_window_pool) { check_all<float>(); }
BOOST_AUTO_TEST_CASE(double_window_equals_window_pool) { check_all<double>(); }

BOOST_AUTO_TEST_CASE(hard_ties_go_to_the_first_member) {
    constexpr std::size_t W = xsimd::batch<float, test_arch>::size;
    const detail::plane_window<float, test_arch> hard(vq::basic_beta<float>::from_beta(1.f));
    std::vector<float> v(3 * W + 1, 0.f), dv(v.size());
    v[W + 1] = v[2 * W] = v[3 * W] = 5.f; // the first maximum is in the second batch
    BOOST_CHECK_EQUAL(hard.forward(v), 5.f);
    hard.backward(v, 2.f, dv);
    for (std::size_t j = 0; j < v.size(); ++j)
        BOOST_CHECK_EQUAL(dv[j], j == W + 1 ? 2.f : 0.f);
}
