// Tests of include/maso/simd/batch_loop.hpp, built once per ISA: every size
// around the batch width, accumulators, and no write past the end.
#include <maso/simd/batch_loop.hpp>

#include <maso_test/isa.hpp>

#include <vector>

template <class T>
void check_sizes() {
    constexpr std::size_t W = xsimd::batch<T, maso_test::test_arch>::size;
    for (std::size_t n : {std::size_t(0), std::size_t(1), W - 1, W, W + 1, 3 * W + 1}) {
        if (n == 0 && W == 1) continue;
        std::vector<T> a(n), b(n), out(n + W, T(-7)); // the guard after n must survive
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = T(i + 1);
            b[i] = T(0.5) * T(i);
        }
        const auto sums = maso::simd::fused_loop<2>(
            maso_test::test_arch{}, n, std::array<const T*, 2>{a.data(), b.data()},
            std::array<T*, 1>{out.data()}, [](const auto& in, auto& acc) {
                acc[0] += in[0];
                acc[1] += in[0] * in[1];
                return std::array{in[0] * in[0] - in[1]};
            });
        T s0 = 0, s1 = 0;
        for (std::size_t i = 0; i < n; ++i) {
            BOOST_CHECK_EQUAL(out[i], a[i] * a[i] - b[i]);
            s0 += a[i];
            s1 += a[i] * b[i];
        }
        for (std::size_t i = n; i < n + W; ++i)
            BOOST_CHECK_EQUAL(out[i], T(-7));
        BOOST_CHECK_EQUAL(sums[0], s0); // small integers and halves: exact in any order
        BOOST_CHECK_EQUAL(sums[1], s1);
    }
}

BOOST_AUTO_TEST_CASE(float_sizes_around_the_width) { check_sizes<float>(); }
BOOST_AUTO_TEST_CASE(double_sizes_around_the_width) { check_sizes<double>(); }
