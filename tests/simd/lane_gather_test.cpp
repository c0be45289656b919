// Tests of include/maso/simd/lane_gather.hpp, built once per ISA: lane l of a gather is
// base[offset[l] + at] for the live lanes and 0 past them, for every count of live lanes and
// several shifts, float (AVX-512's masked gather, one lane at a time elsewhere) and double.
#include <maso/simd/lane_gather.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

using maso_test::test_arch;

template <class T>
void check_gathers() {
    using batch = xsimd::batch<T, test_arch>;
    constexpr std::size_t W = batch::size;
    std::vector<T> base(400);
    for (std::size_t i = 0; i < base.size(); ++i)
        base[i] = T(i) * T(0.5) - T(3);
    alignas(64) std::int32_t offsets[W];
    for (std::size_t l = 0; l < W; ++l)
        offsets[l] = std::int32_t((l * 37) % 97 * 3); // scattered, out of order
    for (std::size_t live = 0; live <= W; ++live)
        for (const std::int32_t at : {0, 1, 50}) {
            const maso::simd::lane_gather<T, test_arch> gather(offsets, live);
            alignas(64) T lanes[W];
            gather(base.data(), at).store_aligned(lanes);
            for (std::size_t l = 0; l < W; ++l)
                BOOST_TEST_CONTEXT("live " << live << ", at " << at << ", lane " << l)
            BOOST_CHECK_EQUAL(lanes[l], l < live ? base[std::size_t(offsets[l] + at)] : T(0));
        }
}

} // namespace

BOOST_AUTO_TEST_CASE(float_lanes) { check_gathers<float>(); }
BOOST_AUTO_TEST_CASE(double_lanes) { check_gathers<double>(); }
