// Tests of include/maso/simd/deinterleave.hpp, built once per ISA: member b of K interleaved
// batches lands in batch b, lane by lane, for K = 1 … 4 (K = 2 has its own permutes on every
// x86 ISA, the others go through memory), and interleave undoes it.
#include <maso/simd/deinterleave.hpp>

#include <maso_test/isa.hpp>

#include <array>
#include <cstddef>

namespace {

using maso_test::test_arch;

template <class T, std::size_t K>
void check_members() {
    using batch = xsimd::batch<T, test_arch>;
    constexpr std::size_t W = batch::size;
    alignas(64) std::array<T, K * W> values;
    for (std::size_t i = 0; i < K * W; ++i)
        values[i] = T(i) + T(0.25); // every value distinct
    std::array<batch, K> v;
    for (std::size_t q = 0; q < K; ++q)
        v[q] = batch::load_aligned(values.data() + q * W);
    const std::array<batch, K> m = maso::simd::deinterleave<K>(v);
    for (std::size_t b = 0; b < K; ++b) {
        alignas(64) std::array<T, W> lanes;
        m[b].store_aligned(lanes.data());
        for (std::size_t l = 0; l < W; ++l)
            BOOST_TEST_CONTEXT("K = " << K << ", member " << b << ", lane " << l)
        BOOST_CHECK_EQUAL(lanes[l], values[l * K + b]);
    }
    const std::array<batch, K> back = maso::simd::interleave<K>(m);
    for (std::size_t q = 0; q < K; ++q)
        BOOST_CHECK(xsimd::all(back[q] == v[q]));
}

template <class T>
void check_all() {
    check_members<T, 1>();
    check_members<T, 2>();
    check_members<T, 3>();
    check_members<T, 4>();
}

} // namespace

BOOST_AUTO_TEST_CASE(float_members_and_back) { check_all<float>(); }
BOOST_AUTO_TEST_CASE(double_members_and_back) { check_all<double>(); }
