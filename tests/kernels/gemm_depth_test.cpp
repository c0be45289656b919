// Tests of include/maso/kernels/gemm_depth.hpp, built once per ISA: the slices cover K once in
// whole KC blocks; the product equals a triple loop in double, with and without accumulate,
// across the tails of NR and KC, in float and double; its bits do not depend on the thread
// count; and it asks for its partial sums' memory instead of writing through null.
#include <maso/kernels/gemm_depth.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

using maso_test::test_arch;
namespace mk = maso::kernels;

namespace {

template <class T>
using split = mk::depth_split<test_arch, T>;
template <class T>
constexpr std::size_t KC = mk::gemm_blocking<test_arch, T>::KC;
template <class T>
constexpr std::size_t NR = mk::gemm_blocking<test_arch, T>::NR;

/// C (+)= A · Bᵀ with B stored N×K (a weight gradient's layout: dZ · colsᵀ), through
/// gemm_depth with partial sums of the size depth_split asks for.
template <class T>
std::vector<T> product(std::size_t M, std::size_t N, std::size_t K, const std::vector<T>& A,
                       const std::vector<T>& B, std::vector<T> C, bool acc) {
    std::vector<T> partials(split<T>::partials(M, N));
    mk::gemm_depth<test_arch>(M, N, K, mk::strided<T>{A.data(), K, 1},
                              mk::matrix_b<T>{{B.data(), 1, K}}, C.data(), N, acc, partials.data());
    return C;
}

/// Within γ ≈ (K + blocks)·ε of the exact sum relative to Σ|a·b| + |c₀| (as gemm_test).
template <class T>
void check_one(std::size_t M, std::size_t N, std::size_t K, bool acc) {
    const auto A = maso_test::uniform_vector<T>(M * K, -1, 1);
    const auto B = maso_test::uniform_vector<T>(N * K, -1, 1);
    const auto C0 = maso_test::uniform_vector<T>(M * N, -1, 1);
    const std::vector<T> C = product(M, N, K, A, B, C0, acc);
    const double tol = static_cast<double>(K + 16) * std::numeric_limits<T>::epsilon();
    double worst = 0;
    std::size_t wi = 0, wj = 0;
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double want = acc ? C0[i * N + j] : 0.0, scale = std::fabs(want);
            for (std::size_t k = 0; k < K; ++k) {
                const double t = double(A[i * K + k]) * double(B[j * K + k]);
                want += t;
                scale += std::fabs(t);
            }
            const double got = C[i * N + j];
            const double r = std::isfinite(got) ? std::fabs(got - want) / (tol * scale + 1e-300)
                                                : std::numeric_limits<double>::infinity();
            if (!(r <= worst)) worst = r, wi = i, wj = j;
        }
    BOOST_CHECK_MESSAGE(worst <= 1,
                        "gemm_depth M=" << M << " N=" << N << " K=" << K << " acc=" << acc << " ("
                                        << split<T>::slices(N, K) << " slices): C[" << wi << "]["
                                        << wj << "] off by " << worst << " × tolerance");
}

template <class T>
void check_shapes() {
    for (std::size_t M : {1, 7})
        for (std::size_t N : {std::size_t{1}, std::size_t{27}, NR<T> + 3, 3 * NR<T>})
            for (std::size_t K : {std::size_t{1}, KC<T> - 1, KC<T> + 1, 3 * KC<T> + 5, 9 * KC<T>})
                for (bool acc : {false, true})
                    check_one<T>(M, N, K, acc);
}

} // namespace

BOOST_AUTO_TEST_CASE(slices_cover_k_in_whole_blocks) {
    using S = split<float>;
    for (std::size_t N : {std::size_t{1}, std::size_t{27}, 5 * NR<float>, 100 * NR<float>})
        for (std::size_t K = 1; K < 20 * KC<float>; K += 97) {
            const std::size_t n = S::slices(N, K);
            BOOST_TEST(n >= 1u);
            BOOST_TEST(n <= S::wanted(N));
            BOOST_TEST(n <= (K + KC<float> - 1) / KC<float>);
            std::size_t next = 0;
            for (std::size_t s = 0; s < n; ++s) {
                const auto r = S::slice(s, n, K);
                BOOST_TEST(r.begin == next);
                BOOST_TEST(r.end > r.begin);
                BOOST_TEST(r.begin % KC<float> == 0u);
                next = r.end;
            }
            BOOST_TEST(next == K);
        }
    // One panel is cut into the most slices, enough panels into none; the partial sums are
    // one M×N block per slice after the first.
    BOOST_TEST(S::wanted(1) == S::max_slices);
    BOOST_TEST(S::wanted(S::min_pairs * NR<float>) == 1u);
    BOOST_TEST(S::partials(5, 27) == (S::max_slices - 1) * 5 * 27);
    BOOST_TEST(S::partials(5, S::min_pairs * NR<float>) == 0u);
}

BOOST_AUTO_TEST_CASE(products_float) { check_shapes<float>(); }
BOOST_AUTO_TEST_CASE(products_double) { check_shapes<double>(); }

BOOST_AUTO_TEST_CASE(same_bits_at_every_thread_count) {
    const maso_test::thread_count_guard guard;
    // Large enough that the threads share it (2^20 multiply-adds and more), cut in slices
    // that neither divide the panels evenly nor end on a block.
    const std::size_t M = 13, N = 2 * NR<float> + 7, K = 20 * KC<float> + 7;
    BOOST_REQUIRE(split<float>::slices(N, K) > 1);
    const auto A = maso_test::uniform_vector<float>(M * K, -1, 1);
    const auto B = maso_test::uniform_vector<float>(N * K, -1, 1);
    const auto C0 = maso_test::uniform_vector<float>(M * N, -1, 1);
    maso::set_num_threads(1);
    const std::vector<float> one = product(M, N, K, A, B, C0, true);
    for (std::size_t threads : {2, 3, 5}) {
        maso::set_num_threads(threads);
        const std::vector<float> many = product(M, N, K, A, B, C0, true);
        std::size_t differ = 0;
        for (std::size_t i = 0; i < one.size(); ++i)
            differ += one[i] != many[i];
        BOOST_TEST(differ == 0u, threads << " threads: " << differ << " elements differ");
    }
}

BOOST_AUTO_TEST_CASE(refuses_to_run_without_its_partial_sums) {
    const std::size_t M = 3, N = 5, K = 4 * KC<float>;
    std::vector<float> A(M * K, 1.f), B(N * K, 1.f), C(M * N, 0.f);
    BOOST_REQUIRE(split<float>::partials(M, N) > 0u);
    BOOST_CHECK_THROW(mk::gemm_depth<test_arch>(M, N, K, mk::strided<float>{A.data(), K, 1},
                                                mk::matrix_b<float>{{B.data(), 1, K}}, C.data(), N,
                                                false, static_cast<float*>(nullptr)),
                      maso::error);
    // One slice needs none.
    mk::gemm_depth<test_arch>(M, N, KC<float>, mk::strided<float>{A.data(), K, 1},
                              mk::matrix_b<float>{{B.data(), 1, K}}, C.data(), N, false,
                              static_cast<float*>(nullptr));
    BOOST_TEST(C[0] == float(KC<float>));
}
