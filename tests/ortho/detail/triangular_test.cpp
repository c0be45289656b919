// Tests of include/maso/ortho/detail/triangular.hpp, built once per ISA: the lower block
// triangle of a product (and nothing right of it); the blocked Cholesky
// against the textbook one (sizes around the block of 96), its refusal of a matrix that is not
// positive definite (and which row), the blocked triangular solves against plain substitution,
// in float and double, and the same bits at 1 and 2 threads.
#include <maso/ortho/detail/triangular.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using maso_test::test_arch;
namespace detail = maso::ortho::detail;

namespace {

const std::size_t sizes[] = {1, 2, 5, 95, 96, 97, 200};

/// G = A·Aᵀ + K·I for a random A: symmetric positive definite, well conditioned.
std::vector<double> spd(std::size_t K, unsigned seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> a(K * K), s(K * K);
    for (auto& x : a)
        x = u(g);
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t j = 0; j < K; ++j) {
            double v = i == j ? double(K) : 0.0;
            for (std::size_t k = 0; k < K; ++k)
                v += a[i * K + k] * a[j * K + k];
            s[i * K + j] = v;
        }
    return s;
}

/// The textbook Cholesky–Banachiewicz, in long double.
std::vector<long double> reference_cholesky(const std::vector<double>& g, std::size_t K) {
    std::vector<long double> l(K * K, 0.0L);
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            long double s = g[i * K + j];
            for (std::size_t k = 0; k < j; ++k)
                s -= l[i * K + k] * l[j * K + k];
            l[i * K + j] = i == j ? std::sqrt(s) : s / l[j * K + j];
        }
    return l;
}

struct factored {
    std::vector<double> l;
    detail::cholesky_result result;
};

factored factor(std::vector<double> g, std::size_t K, double floor = 0) {
    std::vector<double> diag(K), panel(2 * K * detail::triangular_block);
    const auto r = detail::cholesky_lower<test_arch>(g.data(), K, floor, diag.data(), panel.data());
    return {std::move(g), r};
}

} // namespace

BOOST_AUTO_TEST_CASE(lower_product_fills_the_lower_block_triangle_only) {
    // C = A·Bᵀ on the diagonal blocks and below; right of them C keeps what it held.
    for (const std::size_t M :
         {std::size_t{1}, std::size_t{50}, std::size_t{96}, std::size_t{97}, std::size_t{250}})
        for (const bool accumulate : {false, true})
            BOOST_TEST_CONTEXT("M = " << M << ", accumulate " << accumulate) {
                const std::size_t k = 37, ld = 40; // rows padded: leading dimensions > k
                const auto a = maso_test::uniform_vector<double>(M * ld, -1, 1);
                const auto b = maso_test::uniform_vector<double>(M * ld, -1, 1);
                const auto c0 = maso_test::uniform_vector<double>(M * M, -1, 1);
                std::vector<double> c = c0;
                detail::lower_product_nt<test_arch>(M, k, a.data(), ld, b.data(), ld, c.data(), M,
                                                    accumulate);
                for (std::size_t i = 0; i < M; ++i)
                    for (std::size_t j = 0; j < M; ++j) {
                        const std::size_t block_end = std::min(
                            M, (i / detail::triangular_block + 1) * detail::triangular_block);
                        if (j >= block_end) {
                            BOOST_CHECK_EQUAL(c[i * M + j], c0[i * M + j]);
                            continue;
                        }
                        double want = accumulate ? c0[i * M + j] : 0.0, scale = std::fabs(want);
                        for (std::size_t d = 0; d < k; ++d) {
                            want += a[i * ld + d] * b[j * ld + d];
                            scale += std::fabs(a[i * ld + d] * b[j * ld + d]);
                        }
                        MASO_CHECK_CLOSE(c[i * M + j], want, 1e-14, scale);
                    }
            }
}

BOOST_AUTO_TEST_CASE(cholesky_is_the_textbook_factor) {
    for (const std::size_t K : sizes)
        BOOST_TEST_CONTEXT("K = " << K) {
            const auto g = spd(K, unsigned(K));
            const auto [l, r] = factor(g, K);
            BOOST_CHECK_EQUAL(r.failed, K);
            const auto want = reference_cholesky(g, K);
            for (std::size_t i = 0; i < K; ++i)
                for (std::size_t j = 0; j < K; ++j)
                    MASO_CHECK_CLOSE(l[i * K + j], double(want[i * K + j]), 1e-12,
                                     std::sqrt(g[i * K + i]));
        }
}

BOOST_AUTO_TEST_CASE(cholesky_names_the_first_row_that_is_not_independent) {
    // Rows of A: row 3 = row 1 − row 0 (in every block size: rows 100 and 150 in a larger case).
    for (const auto& [K, bad, a0, a1] :
         {std::tuple<std::size_t, std::size_t, std::size_t, std::size_t>{5, 3, 0, 1},
          {200, 150, 20, 100}})
        BOOST_TEST_CONTEXT("K = " << K << ", row " << bad) {
            const std::size_t D = K + 7;
            auto a = maso_test::uniform_vector<double>(K * D, -1, 1);
            for (std::size_t d = 0; d < D; ++d)
                a[bad * D + d] = a[a1 * D + d] - a[a0 * D + d];
            std::vector<double> g(K * K);
            for (std::size_t i = 0; i < K; ++i)
                for (std::size_t j = 0; j < K; ++j) {
                    double s = 0;
                    for (std::size_t d = 0; d < D; ++d)
                        s += a[i * D + d] * a[j * D + d];
                    g[i * K + j] = s;
                }
            const auto r = factor(g, K, 1e-12).result;
            BOOST_CHECK_EQUAL(r.failed, bad);
            BOOST_CHECK_LT(r.relative, 1e-6);
        }
}

BOOST_AUTO_TEST_CASE(solves_are_substitutions) {
    const auto check = [](auto value) {
        using U = decltype(value);
        for (const std::size_t K : sizes)
            for (const std::size_t N : {std::size_t{1}, std::size_t{70}, std::size_t{130}})
                BOOST_TEST_CONTEXT("K = " << K << ", N = " << N) {
                    const auto l = factor(spd(K, unsigned(K + 1)), K).l;
                    std::vector<U> neg_l(K * K), inv(K);
                    for (std::size_t i = 0; i < K; ++i) {
                        for (std::size_t j = 0; j <= i; ++j)
                            neg_l[i * K + j] = U(-l[i * K + j]);
                        inv[i] = U(1 / l[i * K + i]);
                    }
                    const auto b = maso_test::uniform_vector<U>(K * N, -1, 1);
                    std::vector<U> x = b, y = b;
                    detail::solve_lower<test_arch>(neg_l.data(), inv.data(), x.data(), K, N);
                    detail::solve_lower_t<test_arch>(neg_l.data(), inv.data(), y.data(), K, N);
                    // Plain substitution in long double with the same (rounded) L.
                    for (std::size_t c = 0; c < N; ++c) {
                        std::vector<long double> fx(K), by(K);
                        for (std::size_t r = 0; r < K; ++r) {
                            long double s = b[r * N + c];
                            for (std::size_t k = 0; k < r; ++k)
                                s += (long double)neg_l[r * K + k] * fx[k];
                            fx[r] = s / -(long double)neg_l[r * K + r];
                        }
                        for (std::size_t r = K; r-- > 0;) {
                            long double s = b[r * N + c];
                            for (std::size_t k = r + 1; k < K; ++k)
                                s += (long double)neg_l[k * K + r] * by[k];
                            by[r] = s / -(long double)neg_l[r * K + r];
                        }
                        const double tol = 200 * std::numeric_limits<U>::epsilon();
                        for (std::size_t r = 0; r < K; ++r) {
                            MASO_CHECK_CLOSE(x[r * N + c], double(fx[r]), tol, 1);
                            MASO_CHECK_CLOSE(y[r * N + c], double(by[r]), tol, 1);
                        }
                    }
                }
    };
    check(0.0);
    check(0.0f);
}

BOOST_AUTO_TEST_CASE(thread_count_does_not_change_a_bit) {
    maso_test::thread_count_guard guard;
    const std::size_t K = 250, N = 300;
    const auto g = spd(K, 9);
    std::vector<double> l[2], x[2];
    const auto b = maso_test::uniform_vector<double>(K * N, -1, 1);
    for (std::size_t threads : {1u, 2u}) {
        maso::set_num_threads(threads);
        auto& li = l[threads - 1];
        li = factor(g, K).l;
        std::vector<double> neg(K * K), inv(K);
        for (std::size_t i = 0; i < K; ++i) {
            for (std::size_t j = 0; j <= i; ++j)
                neg[i * K + j] = -li[i * K + j];
            inv[i] = 1 / li[i * K + i];
        }
        x[threads - 1] = b;
        detail::solve_lower<test_arch>(neg.data(), inv.data(), x[threads - 1].data(), K, N);
        detail::solve_lower_t<test_arch>(neg.data(), inv.data(), x[threads - 1].data(), K, N);
    }
    BOOST_CHECK(std::memcmp(l[0].data(), l[1].data(), K * K * sizeof(double)) == 0);
    BOOST_CHECK(std::memcmp(x[0].data(), x[1].data(), K * N * sizeof(double)) == 0);
}
