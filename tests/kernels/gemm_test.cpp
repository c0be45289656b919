// Tests of include/maso/kernels/gemm.hpp, built once per ISA: the three products
// against a naive triple loop on every size 1..67 pattern that exercises tails.
#define BOOST_TEST_MODULE kernels.gemm
#include <maso/kernels/gemm.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <vector>

using maso_test::test_arch;

template <class T>
void check_all(std::size_t M, std::size_t N, std::size_t K) {
    const auto A = maso_test::uniform_vector<T>(M * K, -1, 1);
    const auto B = maso_test::uniform_vector<T>(K * N, -1, 1);
    const auto Bt = maso_test::uniform_vector<T>(N * K, -1, 1);
    const auto At = maso_test::uniform_vector<T>(K * M, -1, 1);
    const auto C0 = maso_test::uniform_vector<T>(M * N, -1, 1);
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    for (bool acc : {false, true}) {
        std::vector<T> nn = C0, nt = C0, tn = C0;
        maso::kernels::gemm_nn<test_arch>(M, N, K, A.data(), B.data(), nn.data(), acc);
        maso::kernels::gemm_nt<test_arch>(M, N, K, A.data(), Bt.data(), nt.data(), acc);
        maso::kernels::gemm_tn<test_arch>(M, N, K, At.data(), B.data(), tn.data(), acc);
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double snn = acc ? C0[i * N + j] : 0, snt = snn, stn = snn, scale = 1;
                for (std::size_t k = 0; k < K; ++k) {
                    snn += double(A[i * K + k]) * B[k * N + j];
                    snt += double(A[i * K + k]) * Bt[j * K + k];
                    stn += double(At[k * M + i]) * B[k * N + j];
                    scale += 1;
                }
                BOOST_TEST_CONTEXT("M=" << M << " N=" << N << " K=" << K << " acc=" << acc) {
                    MASO_CHECK_CLOSE(nn[i * N + j], snn, tol, scale);
                    MASO_CHECK_CLOSE(nt[i * N + j], snt, tol, scale);
                    MASO_CHECK_CLOSE(tn[i * N + j], stn, tol, scale);
                }
            }
    }
}

BOOST_AUTO_TEST_CASE(every_shape_with_tails) {
    for (std::size_t M : {1u, 2u, 7u, 17u})
        for (std::size_t N : {1u, 3u, 15u, 16u, 17u, 33u, 67u})
            for (std::size_t K : {1u, 5u, 16u, 31u}) {
                check_all<float>(M, N, K);
                check_all<double>(M, N, K);
            }
}
