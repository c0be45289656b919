// Tests of include/maso/kernels/gemm.hpp, built once per ISA: the three products
// against a naive triple loop in double, float and double, with and without
// accumulate — every size 1..67 of each dimension with the other two small (the
// tails of MR, NR and the batch width), shapes that cross the cache blocks KC and
// NC, and the degenerate sizes.
#include <maso/kernels/gemm.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

using maso_test::test_arch;

namespace {

enum class variant { nn, nt, tn };

const char* name(variant v) { return v == variant::nn ? "nn" : v == variant::nt ? "nt" : "tn"; }

/// One product against the reference, checked once for the whole of C (a check
/// per element would cost more than the products). A sum of K products rounded
/// in any order is within γ ≈ (K + blocks)·ε of the exact one relative to
/// Σ|a·b| + |c₀| (Higham, Accuracy and Stability of Numerical Algorithms, §3.1);
/// a term dropped or counted twice is far outside that.
template <class T>
void check_one(variant v, std::size_t M, std::size_t N, std::size_t K, bool acc) {
    // op(A) is M×K and op(B) K×N whatever the storage: A is stored K×M for tn and
    // B N×K for nt.
    const auto A = maso_test::uniform_vector<T>(M * K, -1, 1);
    const auto B = maso_test::uniform_vector<T>(K * N, -1, 1);
    const auto C0 = maso_test::uniform_vector<T>(M * N, -1, 1);
    // op(A) and op(B)ᵀ in double, row by row: the reference's inner loop is then
    // two contiguous runs (this test is built without optimisation too).
    std::vector<double> a(M * K), bt(N * K);
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t k = 0; k < K; ++k)
            a[i * K + k] = v == variant::tn ? A[k * M + i] : A[i * K + k];
    for (std::size_t j = 0; j < N; ++j)
        for (std::size_t k = 0; k < K; ++k)
            bt[j * K + k] = v == variant::nt ? B[j * K + k] : B[k * N + j];
    std::vector<T> C = C0;
    if (v == variant::nn)
        maso::kernels::gemm_nn<test_arch>(M, N, K, A.data(), B.data(), C.data(), acc);
    else if (v == variant::nt)
        maso::kernels::gemm_nt<test_arch>(M, N, K, A.data(), B.data(), C.data(), acc);
    else
        maso::kernels::gemm_tn<test_arch>(M, N, K, A.data(), B.data(), C.data(), acc);

    const double tol = static_cast<double>(K + 8) * std::numeric_limits<T>::epsilon();
    double worst = 0; // largest |error| / (tol · scale)
    std::size_t wi = 0, wj = 0;
    double wgot = 0, wwant = 0;
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double want = acc ? C0[i * N + j] : 0.0, scale = std::fabs(want);
            const double* ai = a.data() + i * K;
            const double* bj = bt.data() + j * K;
            for (std::size_t k = 0; k < K; ++k) {
                const double t = ai[k] * bj[k];
                want += t;
                scale += std::fabs(t);
            }
            const double got = C[i * N + j];
            const double r = std::isfinite(got) ? std::fabs(got - want) / (tol * scale + 1e-300)
                                                : std::numeric_limits<double>::infinity();
            if (!(r <= worst)) worst = r, wi = i, wj = j, wgot = got, wwant = want;
        }
    BOOST_CHECK_MESSAGE(worst <= 1, "gemm_" << name(v) << " M=" << M << " N=" << N << " K=" << K
                                            << " acc=" << acc << ": C[" << wi << "][" << wj
                                            << "] = " << wgot << ", reference " << wwant
                                            << " (error " << worst << " × tolerance)");
}

template <class T>
void check_all(std::size_t M, std::size_t N, std::size_t K) {
    for (variant v : {variant::nn, variant::nt, variant::tn})
        for (bool acc : {false, true})
            check_one<T>(v, M, N, K, acc);
}

constexpr std::size_t small[] = {1, 6, 13};

} // namespace

BOOST_AUTO_TEST_CASE(every_m_up_to_67) {
    for (std::size_t s = 1; s <= 67; ++s)
        for (std::size_t p : small)
            for (std::size_t q : small) {
                check_all<float>(s, p, q);
                check_all<double>(s, p, q);
            }
}

BOOST_AUTO_TEST_CASE(every_n_up_to_67) {
    for (std::size_t s = 1; s <= 67; ++s)
        for (std::size_t p : small)
            for (std::size_t q : small) {
                check_all<float>(p, s, q);
                check_all<double>(p, s, q);
            }
}

BOOST_AUTO_TEST_CASE(every_k_up_to_67) {
    for (std::size_t s = 1; s <= 67; ++s)
        for (std::size_t p : small)
            for (std::size_t q : small) {
                check_all<float>(p, q, s);
                check_all<double>(p, q, s);
            }
}

/// KC = 256 and NC = 512 floats or 256 doubles (gemm_blocking): K and N beyond
/// them split into balanced blocks, the later K blocks accumulating into C.
BOOST_AUTO_TEST_CASE(shapes_across_the_cache_blocks) {
    using float_blocks = maso::kernels::gemm_blocking<test_arch, float>;
    using double_blocks = maso::kernels::gemm_blocking<test_arch, double>;
    BOOST_TEST_MESSAGE("KC " << float_blocks::KC << ", NC " << float_blocks::NC << " (float) / "
                             << double_blocks::NC << " (double), MR " << float_blocks::MR << ", NR "
                             << float_blocks::NR << " / " << double_blocks::NR);
    const std::size_t shapes[][3] = {{257, 129, 300}, {13, 600, 70}, {20, 300, 520},
                                     {1, 1030, 2},    {131, 1, 513}, {67, 67, 257}};
    for (const auto& s : shapes) {
        check_all<float>(s[0], s[1], s[2]);
        check_all<double>(s[0], s[1], s[2]);
    }
}

BOOST_AUTO_TEST_CASE(empty_products) {
    // K = 0: C = 0, or C unchanged with accumulate. M = 0 or N = 0: nothing to do.
    for (bool acc : {false, true}) {
        std::vector<float> C(6, 2.5f);
        const float A[1] = {1}, B[1] = {1};
        maso::kernels::gemm_nn<test_arch>(2, 3, 0, A, B, C.data(), acc);
        maso::kernels::gemm_nt<test_arch>(3, 2, 0, A, B, C.data(), acc);
        maso::kernels::gemm_tn<test_arch>(1, 6, 0, A, B, C.data(), acc);
        for (float c : C)
            BOOST_TEST(c == (acc ? 2.5f : 0.0f));
    }
    std::vector<double> C(4, 1.0);
    const double A[4] = {1, 2, 3, 4}, B[4] = {1, 2, 3, 4};
    maso::kernels::gemm_nn<test_arch>(0, 2, 2, A, B, C.data(), false);
    maso::kernels::gemm_nt<test_arch>(2, 0, 2, A, B, C.data(), false);
    maso::kernels::gemm_tn<test_arch>(0, 0, 2, A, B, C.data(), true);
    for (double c : C)
        BOOST_TEST(c == 1.0);
}

/// The packing buffer is one per thread and sized for the largest blocks at the
/// first call, so a small product after a large one (and the reverse) sees only
/// its own data: zero padding is rewritten every time, never assumed.
BOOST_AUTO_TEST_CASE(small_after_large_reuses_the_workspace) {
    check_all<float>(40, 600, 300);
    check_all<float>(5, 3, 7);
    check_all<float>(7, 65, 9);
    check_all<double>(5, 3, 7);
}
