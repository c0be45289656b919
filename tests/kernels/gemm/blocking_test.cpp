// Tests of include/maso/kernels/gemm/blocking.hpp.
#include <maso/kernels/gemm/blocking.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

namespace mk = maso::kernels;
using maso_test::test_arch;

BOOST_AUTO_TEST_SUITE(blocking)

BOOST_AUTO_TEST_CASE(tiles_and_blocks_fit_together) {
    auto check = []<class T>(T) {
        using B = mk::gemm_blocking<test_arch, T>;
        static_assert(B::NR == B::NV * xsimd::batch<T, test_arch>::size);
        static_assert(B::NC % B::NR == 0 && B::NC >= B::NR && B::MC % B::MR == 0);
        // The packed B block is half of the L2 the tunable names, at most.
        static_assert(B::KC * B::NC * sizeof(T) <= MASO_L2_BYTES / 2);
        static_assert(B::l2_share == MASO_L2_BYTES / 2);
    };
    check(0.f);
    check(0.0);
}

BOOST_AUTO_TEST_CASE(balanced_blocks_split_evenly_in_units) {
    for (std::size_t n = 1; n < 700; n += 7)
        for (const std::size_t max : {64, 256})
            for (const std::size_t unit : {1, 6, 16}) {
                const std::size_t b = mk::detail::balanced_block<test_arch>(n, max, unit);
                BOOST_TEST_CONTEXT("n " << n << " max " << max << " unit " << unit) {
                    BOOST_CHECK_LE(b, max);
                    BOOST_CHECK(b % unit == 0 || b == max);
                    // as many blocks as ⌈n / max⌉, and no sliver: the last is not tiny
                    const std::size_t blocks = (n + b - 1) / b;
                    BOOST_CHECK_LE(blocks, (n + max - 1) / max + (unit > 1 ? 1 : 0));
                }
            }
    BOOST_CHECK_EQUAL(mk::detail::balanced_block<test_arch>(300, 256, 1), 150u);
}

BOOST_AUTO_TEST_SUITE_END()
