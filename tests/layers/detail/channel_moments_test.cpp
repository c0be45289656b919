// Tests of include/maso/layers/detail/channel_moments.hpp, built once per ISA: μ and Σ(x − μ)²
// of m values in double, W at a time in four chains, equal a long-double reference for every
// m around the four chains' width (1, W − 1, W, W + 1, 4W − 1, 4W, 4W + 1, 3·4W + 1), and for
// float values whose mean dwarfs their spread.
#include <maso/layers/detail/channel_moments.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

using maso_test::test_arch;

namespace {

template <class T>
void check_size(std::size_t m, double offset) {
    std::vector<T> x(m);
    for (auto& v : x)
        v = T(offset + maso_test::uniform(-1, 1));
    long double sum = 0;
    for (const T v : x)
        sum += (long double)v;
    const long double mu = sum / (long double)m;
    long double ss = 0;
    for (const T v : x)
        ss += ((long double)v - mu) * ((long double)v - mu);
    const auto [mean, squares] = maso::detail::channel_moments<T, test_arch>(x.data(), m);
    BOOST_TEST_CONTEXT("m = " << m << ", offset " << offset) {
        MASO_CHECK_CLOSE(mean, double(mu), 1e-13, 0); // double sums of up to 10⁵ values
        // ss sums squares of deviations known to double rounding of μ: relative 1e-13
        MASO_CHECK_CLOSE(squares, double(ss), 1e-13, double(m) * 1e-3);
    }
}

template <class T>
void check_all() {
    constexpr std::size_t W = xsimd::batch<double, test_arch>::size;
    for (const std::size_t m : {std::size_t(1), std::size_t(2), W - 1, W, W + 1, 4 * W - 1, 4 * W,
                                4 * W + 1, 12 * W + 1, std::size_t(100003)})
        for (const double offset : {0.0, 1e4}) {
            if (m == 0) continue;
            check_size<T>(m, offset);
        }
}

} // namespace

BOOST_AUTO_TEST_CASE(float_values_in_double) { check_all<float>(); }
BOOST_AUTO_TEST_CASE(double_values) { check_all<double>(); }
