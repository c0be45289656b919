// Tests of include/maso/vq/kernel.hpp, built once per ISA: SIMD = scalar across
// loop tails and at extreme inputs, gradients of the SIMD kernel against finite
// differences in double, in-place backward, the hard dispatch, size errors.
#include <maso/vq/kernel.hpp>
#include <maso/vq/soft/sigmoid_output.hpp>
#include <maso/vq/soft/tanh_output.hpp>
#include <maso/vq/units/absolute.hpp>
#include <maso/vq/units/leaky_relu.hpp>
#include <maso/vq/units/relu.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <limits>
#include <vector>

using namespace maso::vq;
using maso::simd::scalar_arch;
using maso_test::test_arch;

template <class T>
std::span<const T> in(const std::vector<T>& v) {
    return {v.data(), v.size()};
}
template <class T>
std::span<T> out(std::vector<T>& v) {
    return {v.data(), v.size()};
}

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-12;

/// Runs `pass` forward and backward with the SIMD arch and the scalar reference
/// on z and compares y, dz and dθ.
template <class T, class Pass>
void check_simd_equals_scalar(const Pass& pass, const std::vector<T>& z, const char* what) {
    const std::size_t n = z.size();
    auto dy = maso_test::uniform_vector<T>(n, -1, 1);
    std::vector<T> y(n), y_ref(n), dz(n), dz_ref(n);
    forward(test_arch{}, pass, in(z), out(y));
    forward(scalar_arch{}, pass, in(z), out(y_ref));
    const T dtheta = backward(test_arch{}, pass, in(z), in(dy), out(dz));
    const T dtheta_ref = backward(scalar_arch{}, pass, in(z), in(dy), out(dz_ref));
    double dtheta_scale = 0; // Σ |dy_i ∂y_i/∂θ|: the size of the terms summed
    for (std::size_t i = 0; i < n; ++i) {
        T d = 0;
        pass.backward(T(std::fabs(double(dy[i]))), T(1), d);
        dtheta_scale += std::fabs(double(dy[i]) * double(d));
        BOOST_CHECK_MESSAGE(std::isfinite(y[i]) && std::isfinite(dz[i]),
                            what << ": non-finite at z = " << z[i]);
        BOOST_CHECK_MESSAGE(maso_test::close(y[i], y_ref[i], tolerance<T>, std::fabs(z[i]) * 1e-30),
                            what << " n=" << n << " y(" << z[i] << ") " << y[i] << " vs "
                                 << y_ref[i]);
        BOOST_CHECK_MESSAGE(maso_test::close(dz[i], dz_ref[i], tolerance<T>, std::fabs(dy[i])),
                            what << " n=" << n << " dz(" << z[i] << ") " << dz[i] << " vs "
                                 << dz_ref[i]);
    }
    BOOST_CHECK_MESSAGE(std::isfinite(dtheta), what << ": dθ not finite");
    BOOST_CHECK_MESSAGE(maso_test::close(dtheta, dtheta_ref, tolerance<T>, dtheta_scale + 1e-30),
                        what << " n=" << n << " dθ " << dtheta << " vs " << dtheta_ref);
}

template <class T>
std::vector<std::size_t> tail_sizes() {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size;
    std::vector<std::size_t> s{1, W, W + 1, 3 * W + 1};
    if (W > 1) s.push_back(W - 1);
    return s;
}

template <class T, class F>
void for_each_pass(F&& f) {
    const T inf = std::numeric_limits<T>::infinity();
    for (T theta : {-inf, T(-0.7), T(0), T(std::log(9.0)), T(std::log(1e6)), T(69), T(200)}) {
        const auto b = basic_beta<T>::from_theta(theta);
        f(beta_pass<relu, T>(relu{}, b), "beta relu");
        f(beta_pass<leaky_relu, T>(leaky_relu{0.1}, b), "beta leaky_relu");
        f(beta_pass<absolute, T>(absolute{}, b), "beta absolute");
        f(soft_pass<sigmoid_output, T>(b), "sigmoid");
        f(soft_pass<tanh_output, T>(b), "tanh");
    }
    f(hard_pass<relu, T>(relu{}), "hard relu");
    f(hard_pass<absolute, T>(absolute{}), "hard absolute");
}

template <class T>
void simd_equals_scalar() {
    for_each_pass<T>([](const auto& pass, const char* what) {
        for (std::size_t n : tail_sizes<T>())
            check_simd_equals_scalar<T>(pass, maso_test::uniform_vector<T>(n, -4, 4), what);
        // Extreme inputs, in every lane position and in the tail.
        const std::vector<T> extremes{T(1e4),   T(-1e4), T(0),   T(1e-30), T(-1e-30), T(1e-6),
                                      T(-1e-6), T(3),    T(-3),  T(1e4),   T(-1e4),   T(0),
                                      T(88),    T(-88),  T(0.5), T(-0.5),  T(1e4)};
        check_simd_equals_scalar<T>(pass, extremes, what);
    });
}

BOOST_AUTO_TEST_CASE(float_simd_equals_scalar) { simd_equals_scalar<float>(); }
BOOST_AUTO_TEST_CASE(double_simd_equals_scalar) { simd_equals_scalar<double>(); }

BOOST_AUTO_TEST_CASE(simd_kernel_gradients_match_finite_differences) {
    // L = Σ w_i y_i(z; θ) evaluated by the SIMD kernel in double.
    const std::size_t n = 3 * xsimd::batch<double, test_arch>::size + 1;
    const auto w = maso_test::uniform_vector<double>(n, -1, 1);
    auto z = maso_test::uniform_vector<double>(n, -3, 3);
    for (auto& v : z)
        if (std::fabs(v) < 0.05) v += 0.1; // keep the hard pass away from its kink
    auto loss = [&](const auto& pass, const std::vector<double>& zz) {
        std::vector<double> y(n);
        forward(test_arch{}, pass, in(zz), out(y));
        double l = 0;
        for (std::size_t i = 0; i < n; ++i)
            l += w[i] * y[i];
        return l;
    };
    for (double theta : {-1.5, 0.0, std::log(9.0), 3.5}) {
        auto check = [&](auto make, const char* what) {
            const auto pass = make(theta);
            std::vector<double> dz(n);
            const double dtheta = backward(test_arch{}, pass, in(z), in(w), out(dz));
            const double l0 = loss(pass, z);
            for (std::size_t i = 0; i < n; ++i) {
                const double fd = maso_test::central_difference(
                    [&](double t) {
                        auto zt = z;
                        zt[i] = t;
                        return loss(pass, zt);
                    },
                    z[i]);
                BOOST_TEST_CONTEXT(what << " θ=" << theta << " i=" << i)
                MASO_CHECK_DERIVATIVE(dz[i], fd, l0);
            }
            const double fd_theta =
                maso_test::central_difference([&](double t) { return loss(make(t), z); }, theta);
            BOOST_TEST_CONTEXT(what << " θ=" << theta) MASO_CHECK_DERIVATIVE(dtheta, fd_theta, l0);
        };
        using B = basic_beta<double>;
        check([](double t) { return beta_pass<relu, double>(relu{}, B{t}); }, "beta relu");
        check([](double t) { return beta_pass<leaky_relu, double>(leaky_relu{0.2}, B{t}); },
              "beta leaky_relu");
        check([](double t) { return beta_pass<absolute, double>(absolute{}, B{t}); }, "beta abs");
        check([](double t) { return soft_pass<sigmoid_output, double>(B{t}); }, "sigmoid");
        check([](double t) { return soft_pass<tanh_output, double>(B{t}); }, "tanh");
        check([](double) { return hard_pass<relu, double>(relu{}); }, "hard relu");
    }
}

BOOST_AUTO_TEST_CASE(in_place_backward_and_the_hard_dispatch) {
    const std::size_t n = 2 * xsimd::batch<float, test_arch>::size + 3;
    const auto z = maso_test::uniform_vector<float>(n, -4, 4);
    auto dy = maso_test::uniform_vector<float>(n, -1, 1);
    const auto b = beta::from_beta(0.9f);
    std::vector<float> dz(n);
    const float t1 = beta_vq_backward(test_arch{}, relu{}, b, in(z), in(dy), out(dz));
    const float t2 =
        beta_vq_backward(test_arch{}, relu{}, b, in(z), in(dy), out(dy)); // dz aliases dy
    BOOST_CHECK_EQUAL(t1, t2);
    for (std::size_t i = 0; i < n; ++i)
        BOOST_CHECK_EQUAL(dz[i], dy[i]);

    // β = 1 exactly is ReLU with ReLU's gradient and no β gradient.
    std::vector<float> y(n), ones(n, 1.f), g(n);
    beta_vq_forward(test_arch{}, relu{}, beta::from_beta(1.f), in(z), out(y));
    const float th =
        beta_vq_backward(test_arch{}, relu{}, beta::from_beta(1.f), in(z), in(ones), out(g));
    BOOST_CHECK_EQUAL(th, 0.f);
    for (std::size_t i = 0; i < n; ++i) {
        BOOST_CHECK_EQUAL(y[i], std::max(z[i], 0.f));
        BOOST_CHECK_EQUAL(g[i], z[i] > 0 ? 1.f : 0.f);
    }
}

BOOST_AUTO_TEST_CASE(mismatched_sizes_raise_size_error) {
    std::vector<float> z(5), y(4), dy(5), dz(5);
    const auto b = beta::from_beta(0.5f);
    BOOST_CHECK_THROW(beta_vq_forward(test_arch{}, relu{}, b, in(z), out(y)), maso::size_error);
    dy.resize(6);
    BOOST_CHECK_THROW(beta_vq_backward(test_arch{}, relu{}, b, in(z), in(dy), out(dz)),
                      maso::size_error);
}
