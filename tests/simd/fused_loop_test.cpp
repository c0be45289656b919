// Tests of include/maso/simd/fused_loop.hpp: the scalar skeleton.
#include <maso/simd/fused_loop.hpp>

#include <boost/test/unit_test.hpp>

#include <vector>

BOOST_AUTO_TEST_CASE(maps_every_element_and_reduces) {
    for (std::size_t n : {0u, 1u, 7u}) {
        std::vector<double> a(n), b(n), out(n, -1);
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = double(i);
            b[i] = 2.0 * i + 1;
        }
        const auto sums = maso::simd::fused_loop<2>(
            maso::simd::scalar_arch{}, n, std::array<const double*, 2>{a.data(), b.data()},
            std::array<double*, 1>{out.data()}, [](const auto& in, auto& acc) {
                acc[0] += in[0];
                acc[1] += in[0] * in[1];
                return std::array{in[0] + in[1]};
            });
        double s0 = 0, s1 = 0;
        for (std::size_t i = 0; i < n; ++i) {
            BOOST_CHECK_EQUAL(out[i], a[i] + b[i]);
            s0 += a[i];
            s1 += a[i] * b[i];
        }
        BOOST_CHECK_EQUAL(sums[0], s0);
        BOOST_CHECK_EQUAL(sums[1], s1);
    }
}
