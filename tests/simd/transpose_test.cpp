// Tests of include/maso/simd/transpose.hpp, built once per ISA: W batches of W distinct values
// transposed, float (AVX-512's own shuffles, the buffer elsewhere) and double, lane by lane,
// and transposed twice back to where they were.
#include <maso/simd/transpose.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstddef>

namespace {

using maso_test::test_arch;

template <class T>
void check_transpose() {
    using batch = xsimd::batch<T, test_arch>;
    constexpr std::size_t W = batch::size;
    alignas(64) T m[W * W];
    for (std::size_t i = 0; i < W * W; ++i)
        m[i] = T(i) + T(0.5);
    std::array<batch, W> r;
    for (std::size_t i = 0; i < W; ++i)
        r[i] = batch::load_aligned(m + i * W);
    maso::simd::transpose(r);
    for (std::size_t i = 0; i < W; ++i) {
        alignas(64) T lanes[W];
        r[i].store_aligned(lanes);
        for (std::size_t j = 0; j < W; ++j)
            BOOST_TEST_CONTEXT("row " << i << ", lane " << j)
        BOOST_CHECK_EQUAL(lanes[j], m[j * W + i]);
    }
    maso::simd::transpose(r);
    for (std::size_t i = 0; i < W; ++i)
        BOOST_CHECK(xsimd::all(r[i] == batch::load_aligned(m + i * W)));
}

} // namespace

BOOST_AUTO_TEST_CASE(float_square) { check_transpose<float>(); }
BOOST_AUTO_TEST_CASE(double_square) { check_transpose<double>(); }
