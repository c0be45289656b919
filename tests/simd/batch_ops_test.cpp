// Tests of include/maso/simd/batch_ops.hpp, built once per ISA: the accuracy of
// fast_exp against std::exp (the scalar reference the β-VQ kernels are compared
// with), its underflow and overflow, and the exact reciprocal and clamp.
#include <maso/simd/batch_ops.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace {

template <class T>
using batch = xsimd::batch<T, maso_test::test_arch>;
template <class T>
using ops = maso::simd::ops<batch<T>>;

/// Applies f batch by batch to x (the tail padded with zeros).
template <class T, class F>
std::vector<T> map(const std::vector<T>& x, F f) {
    constexpr std::size_t W = batch<T>::size;
    std::vector<T> in(x), out(x.size() + W);
    in.resize(x.size() + W, T(0));
    for (std::size_t i = 0; i < x.size(); i += W)
        f(batch<T>::load_unaligned(in.data() + i)).store_unaligned(out.data() + i);
    out.resize(x.size());
    return out;
}

/// Distance in units in the last place between two non-negative finite values.
template <class T>
std::int64_t ulps(T a, T b) {
    using I = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
    I ia, ib;
    std::memcpy(&ia, &a, sizeof(T));
    std::memcpy(&ib, &b, sizeof(T));
    return ia > ib ? std::int64_t(ia) - ib : std::int64_t(ib) - ia;
}

/// e^x correctly rounded to T (up to a double rounding once in ~2^29 for float).
template <class T>
T exact_exp(T x) {
    return static_cast<T>(std::exp(static_cast<long double>(x)));
}

template <class T>
void check_fast_exp_at(const std::vector<T>& x, double max_misrounded) {
    const auto y = map(x, [](batch<T> v) { return ops<T>::fast_exp(v); });
    std::size_t misrounded = 0, checked = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const T ref = exact_exp(x[i]);
        if (ref < std::numeric_limits<T>::min()) {
            // Denormal results: rounded like std::exp with vscalef, flushed to 0 elsewhere.
            BOOST_CHECK_MESSAGE(y[i] == 0 || ulps(y[i], ref) <= 1,
                                "fast_exp(" << x[i] << ") = " << y[i] << " vs " << ref);
            continue;
        }
        if (std::isinf(y[i])) {
            // The shift path overflows from the last half binade below the maximum on.
            BOOST_CHECK_MESSAGE(std::log2(double(ref)) >
                                    std::numeric_limits<T>::max_exponent - 0.501,
                                "fast_exp(" << x[i] << ") overflowed, std::exp gives " << ref);
            continue;
        }
        ++checked;
        const std::int64_t d = ulps(y[i], ref);
        misrounded += d != 0;
        BOOST_CHECK_MESSAGE(d <= 1, "fast_exp(" << x[i] << ") = " << y[i] << " vs " << ref << ": "
                                                << d << " ulp");
    }
    BOOST_TEST_MESSAGE(misrounded << " of " << checked << " not correctly rounded");
    BOOST_CHECK_LE(double(misrounded), max_misrounded * double(checked));
}

} // namespace

BOOST_AUTO_TEST_CASE(float_fast_exp_is_within_one_ulp) {
    // Every 1031st float of [−104, 89]: 2.2 million values, all binades and both signs.
    std::vector<float> x;
    for (float lo : {-0.0f, 0.0f}) {
        const float hi = lo == 0 && !std::signbit(lo) ? 89.0f : -104.0f;
        std::uint32_t a, b;
        std::memcpy(&a, &lo, 4);
        std::memcpy(&b, &hi, 4);
        for (std::uint32_t i = a; i <= b; i += 1031) {
            float v;
            std::memcpy(&v, &i, 4);
            x.push_back(v);
        }
    }
    // Measured on every float of the range: 0.48% misrounded with FMA, 0.86% on SSE2.
    check_fast_exp_at(x, 0.012);
}

BOOST_AUTO_TEST_CASE(double_fast_exp_is_within_one_ulp) {
    std::vector<double> x;
    for (int i = 0; i < 200000; ++i)
        x.push_back(maso_test::uniform(-745, 710));
    for (int e = 1; e < 60; ++e)
        for (int i = 0; i < 200; ++i)
            x.push_back(std::ldexp(maso_test::uniform(-1, 1), -e));
    // Measured on this sample: 6% misrounded with FMA, 10% on SSE2 (all by 1 ulp).
    check_fast_exp_at(x, 0.15);
}

template <class T>
void check_limits() {
    const T inf = std::numeric_limits<T>::infinity();
    const T big = std::is_same_v<T, float> ? T(1e30) : T(1e300);
    const T under = std::is_same_v<T, float> ? T(-104) : T(-746);
    const T over = std::is_same_v<T, float> ? T(89) : T(710);
    const std::vector<T> x{T(0),  T(-0.0),      T(1e-30), T(-1e-30), -inf, -big,
                           under, T(2) * under, inf,      big,       over, T(2) * over};
    const auto y = map(x, [](batch<T> v) { return ops<T>::fast_exp(v); });
    for (std::size_t i = 0; i < 4; ++i)
        BOOST_CHECK_EQUAL(y[i], T(1)); // exactly: the σ of tiny scores must round as std::exp
    for (std::size_t i = 4; i < 8; ++i)
        BOOST_CHECK_MESSAGE(y[i] == T(0), "fast_exp(" << x[i] << ") = " << y[i] << ", not 0");
    for (std::size_t i = 8; i < 12; ++i)
        BOOST_CHECK_MESSAGE(y[i] == inf, "fast_exp(" << x[i] << ") = " << y[i] << ", not ∞");
}

BOOST_AUTO_TEST_CASE(fast_exp_underflows_to_zero_and_overflows_to_infinity) {
    check_limits<float>();
    check_limits<double>();
}

template <class T>
void check_reciprocal_and_clamp() {
    auto x = maso_test::uniform_vector<T>(1000, 1, 2);
    const auto more = maso_test::uniform_vector<T>(1000, -1e6, 1e6);
    x.insert(x.end(), more.begin(), more.end());
    const auto r = map(x, [](batch<T> v) { return ops<T>::reciprocal(v); });
    for (std::size_t i = 0; i < x.size(); ++i)
        BOOST_CHECK_EQUAL(r[i], T(1) / x[i]);

    const T inf = std::numeric_limits<T>::infinity();
    const std::vector<T> c{T(-3), T(3), T(-80), T(80), T(-81), T(81), -inf, inf, T(0), T(-0.0)};
    const auto y = map(c, [](batch<T> v) { return ops<T>::clamp(v, T(80)); });
    for (std::size_t i = 0; i < c.size(); ++i) {
        BOOST_CHECK_EQUAL(y[i], maso::simd::ops<T>::clamp(c[i], T(80)));
        BOOST_CHECK_EQUAL(std::signbit(y[i]), std::signbit(c[i]));
    }
}

BOOST_AUTO_TEST_CASE(reciprocal_is_exact_and_clamp_keeps_the_sign) {
    check_reciprocal_and_clamp<float>();
    check_reciprocal_and_clamp<double>();
}
