// Tests of include/maso/kernels/gemm/packing.hpp: B packed into NR-wide panels from a
// row-major and a transposed matrix, every entry at its place, zeros past the edge.
#include <maso/kernels/gemm/packing.hpp>
#include <maso/kernels/gemm/workspace.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

namespace mk = maso::kernels;
using maso_test::test_arch;

BOOST_AUTO_TEST_SUITE(packing)

BOOST_AUTO_TEST_CASE(b_panels_hold_the_block_in_order_with_zero_tails) {
    using B = mk::gemm_blocking<test_arch, float>;
    constexpr std::size_t NR = B::NR;
    const std::size_t K = 11, N = 2 * NR + 5, pc = 3, jc = 1, kc = 7, nc = N - 1;
    std::vector<float> rows(K * N), cols(N * K); // B[k][j] and its transpose
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t j = 0; j < N; ++j)
            rows[k * N + j] = cols[j * K + k] = float(1000 * k + j);
    const std::size_t panels = (nc + NR - 1) / NR;
    for (const bool transposed : {false, true}) {
        // Panels are aligned, as the product's workspace is.
        mk::detail::gemm_workspace<test_arch, float> w;
        float* packed = w.get(panels * NR * kc);
        std::fill_n(packed, panels * NR * kc, -1.f);
        const mk::matrix_b<float> b{transposed ? mk::strided<float>{cols.data(), 1, K}
                                               : mk::strided<float>{rows.data(), N, 1}};
        b.pack<test_arch, NR>(packed, pc, jc, kc, nc);
        for (std::size_t p = 0; p < panels; ++p)
            for (std::size_t k = 0; k < kc; ++k)
                for (std::size_t j = 0; j < NR; ++j) {
                    const std::size_t col = p * NR + j;
                    const float want = col < nc ? float(1000 * (pc + k) + jc + col) : 0.f;
                    BOOST_TEST_CONTEXT("transposed " << transposed << " panel " << p << " k " << k
                                                     << " j " << j)
                    BOOST_CHECK_EQUAL(packed[(p * kc + k) * NR + j], want);
                }
    }
}

BOOST_AUTO_TEST_SUITE_END()
