// Tests of include/maso/simd/lane_bits.hpp, built once per ISA: the intrinsic's bits are the
// portable gather's, lane l at bit l, for every pattern of the lanes (every one of them up to
// 8 lanes, and random ones beyond), in float and double.
#include <maso/simd/lane_bits.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <random>

using maso_test::test_arch;

namespace {
template <class T>
void check_patterns() {
    using batch = xsimd::batch<T, test_arch>;
    constexpr std::size_t W = batch::size;
    std::mt19937_64 rng(9);
    const std::size_t patterns = W <= 8 ? std::size_t(1) << W : 4096;
    for (std::size_t k = 0; k < patterns; ++k) {
        const std::uint64_t want = W <= 8 ? k : rng() & ((std::uint64_t(1) << W) - 1);
        alignas(64) T v[W];
        for (std::size_t l = 0; l < W; ++l)
            v[l] = (want >> l) & 1 ? T(1.5) : T(-0.5);
        const auto m = batch::load_aligned(v) > batch(T(0));
        BOOST_TEST(maso::simd::lane_bits(m) == want);
        BOOST_TEST(maso::simd::detail::lane_bits_generic(m) == want);
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(bits_are_lanes_in_float) { check_patterns<float>(); }
BOOST_AUTO_TEST_CASE(bits_are_lanes_in_double) { check_patterns<double>(); }
