// Tests of include/maso/simd/strided.hpp, built once per ISA: copy_strided, add_strided,
// load_even and add_three_taps against the scalar definitions, float and double, at strides 1, 2
// and 3, into a contiguous run and a strided one, for every run length up to three batches and one
// past — the AVX-512 float forms' masked tails included. The runs are allocated to their exact
// extent, so a read or write past a run's last value is an AddressSanitizer report; the
// values between a strided run's entries must come out untouched.
#include <maso/simd/strided.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <memory>
#include <random>
#include <vector>

namespace {

using maso_test::test_arch;

/// A heap array of exactly n values (at least one), v[i] = first + i.
template <class T>
std::unique_ptr<T[]> counting(std::size_t n, T first) {
    auto v = std::make_unique<T[]>(n == 0 ? 1 : n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = first + T(i);
    return v;
}

/// Elements a run of n values at `step` spans.
std::size_t extent(std::size_t n, std::size_t step) { return n == 0 ? 0 : (n - 1) * step + 1; }

template <class T>
void check_copies() {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size;
    for (std::size_t stride : {1, 2, 3})
        for (std::size_t ds : {std::size_t{1}, std::size_t{5}})
            for (std::size_t n = 0; n <= 3 * W + 1; ++n) {
                BOOST_TEST_CONTEXT("stride " << stride << ", ds " << ds << ", n " << n) {
                    const auto src = counting<T>(extent(n, stride), T(0.5));
                    const std::size_t out = extent(n, ds);
                    auto dst = counting<T>(out, T(-1000));
                    maso::simd::copy_strided(test_arch{}, src.get(), stride, dst.get(), ds, n);
                    for (std::size_t k = 0; k < out; ++k)
                        BOOST_CHECK_EQUAL(dst[k],
                                          k % ds == 0 ? src[k / ds * stride] : T(-1000) + T(k));
                    // add_strided: the adjoint, into a strided run of `stride`
                    const auto add = counting<T>(n, T(3.25));
                    const std::size_t span = extent(n, stride);
                    auto acc = counting<T>(span, T(100));
                    maso::simd::add_strided(test_arch{}, add.get(), acc.get(), stride, n);
                    for (std::size_t k = 0; k < span; ++k)
                        BOOST_CHECK_EQUAL(acc[k], k % stride == 0 ? T(100) + T(k) + add[k / stride]
                                                                  : T(100) + T(k));
                }
            }
}

template <class T>
void check_load_even() {
    using batch = xsimd::batch<T, test_arch>;
    constexpr std::size_t W = batch::size;
    const auto p = counting<T>(2 * W - 1, T(7)); // the value after the last even one is absent
    alignas(64) T lanes[W];
    maso::simd::load_even(test_arch{}, p.get()).store_aligned(lanes);
    for (std::size_t l = 0; l < W; ++l)
        BOOST_CHECK_EQUAL(lanes[l], p[2 * l]);
}

/// add_three_taps against its definition on whole numbers (exact sums), and bitwise against
/// the portable loop on values whose sums round (the same sums in the same order), for every
/// n to past three batches; the arrays are exactly as long as the call may touch.
template <class T>
void check_three_taps() {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size;
    std::mt19937 rng(7);
    std::uniform_real_distribution<T> value(T(-1), T(1));
    for (std::size_t n = 0; n <= 3 * W + 1; ++n) {
        BOOST_TEST_CONTEXT("n " << n) {
            const auto t0 = counting<T>(n, T(1)), t1 = counting<T>(n, T(100)),
                       t2 = counting<T>(n, T(1000));
            const std::size_t span = n == 0 ? 0 : 2 * n + 1;
            auto d = counting<T>(span, T(-50));
            maso::simd::add_three_taps(test_arch{}, t0.get(), t1.get(), t2.get(), d.get(), n);
            for (std::size_t k = 0; k < span; ++k) {
                const std::size_t j = k / 2;
                T want = T(-50) + T(k);
                if (k % 2 == 1)
                    want += t1[j];
                else if (j < n)
                    want += j == 0 ? t0[0] : t0[j] + t2[j - 1];
                else
                    want += t2[n - 1];
                BOOST_CHECK_EQUAL(d[k], want);
            }
            auto r0 = std::make_unique<T[]>(n + 1), r1 = std::make_unique<T[]>(n + 1),
                 r2 = std::make_unique<T[]>(n + 1);
            auto simd = std::make_unique<T[]>(span + 1), scalar = std::make_unique<T[]>(span + 1);
            for (std::size_t j = 0; j < n; ++j)
                r0[j] = value(rng), r1[j] = value(rng), r2[j] = value(rng);
            for (std::size_t k = 0; k < span; ++k)
                simd[k] = scalar[k] = value(rng);
            maso::simd::add_three_taps(test_arch{}, r0.get(), r1.get(), r2.get(), simd.get(), n);
            maso::simd::detail::add_three_taps_any(r0.get(), r1.get(), r2.get(), scalar.get(), n);
            for (std::size_t k = 0; k < span; ++k)
                BOOST_CHECK_EQUAL(simd[k], scalar[k]);
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(three_taps_at_stride_2) {
    check_three_taps<float>();
    check_three_taps<double>();
}

BOOST_AUTO_TEST_CASE(float_runs) { check_copies<float>(); }
BOOST_AUTO_TEST_CASE(double_runs) { check_copies<double>(); }
BOOST_AUTO_TEST_CASE(even_values) {
    check_load_even<float>();
    check_load_even<double>();
}
