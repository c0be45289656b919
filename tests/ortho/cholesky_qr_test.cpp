// Tests of include/maso/ortho/cholesky_qr.hpp, built once per ISA: Q is the Q factor (and
// equals gram_schmidt<cgs2>'s output to rounding, in float and double, across the blocks of
// the triangular code); the backward against central differences in double and against the
// row-by-row cgs2 backward, which was derived separately; float rows of condition number 1e6,
// whose Gram matrix a float Cholesky could not factor; the same bits at 1 and 2 threads; no
// allocation; the refusals.
#include <maso/ortho/cholesky_qr.hpp>
#include <maso/ortho/gram_schmidt.hpp>
#include <maso/ortho/metrics.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using maso_test::test_arch;
namespace ortho = maso::ortho;

namespace {

template <class T>
using cqr = ortho::cholesky_qr_kernel<T, test_arch>;
template <class T>
using cgs2 = ortho::gram_schmidt_kernel<T, ortho::gs_form::cgs2, test_arch>;

struct extents {
    std::size_t K, D;
};
// K = D, K ≪ D, and K across the triangular code's blocks of 96 rows.
const extents small_shapes[] = {{1, 1}, {1, 4}, {2, 2}, {3, 3}, {4, 4}, {5, 9}, {3, 20}, {6, 6}};
const extents block_shapes[] = {{95, 120}, {96, 96}, {97, 150}, {193, 250}, {100, 100}};

template <class T>
std::vector<T> gaussian(std::size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<double> nd;
    std::vector<T> v(n);
    for (auto& x : v)
        x = static_cast<T>(nd(g));
    return v;
}

template <class K, class T>
std::vector<T> forward(K& k, const std::vector<T>& w) {
    std::vector<T> q(w.size());
    k.forward(w, q);
    return q;
}

template <class T>
double max_difference(const std::vector<T>& a, const std::vector<T>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

/// max |Q·Qᵀ − I| and the largest |(W·Qᵀ)_ji| above the diagonal (i > j) relative to ‖w_j‖,
/// with the smallest diagonal (W·Qᵀ)_jj: the conditions that make Q the Q factor.
template <class T>
void check_q_factor(const std::vector<T>& w, const std::vector<T>& q, std::size_t K, std::size_t D,
                    double tol) {
    double orth = 0, upper = 0, diag = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < K; ++j) {
        double wn = 0;
        for (std::size_t d = 0; d < D; ++d)
            wn += double(w[j * D + d]) * double(w[j * D + d]);
        for (std::size_t i = 0; i < K; ++i) {
            double qq = 0, wq = 0;
            for (std::size_t d = 0; d < D; ++d) {
                qq += double(q[i * D + d]) * double(q[j * D + d]);
                wq += double(w[j * D + d]) * double(q[i * D + d]);
            }
            orth = std::max(orth, std::fabs(qq - (i == j)));
            if (i > j) upper = std::max(upper, std::fabs(wq) / std::sqrt(wn));
            if (i == j) diag = std::min(diag, wq);
        }
    }
    BOOST_CHECK_LE(orth, tol);
    BOOST_CHECK_LE(upper, tol);
    BOOST_CHECK_GT(diag, 0);
}

template <class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const maso::error& e) {
        return e.what();
    }
    return "nothing thrown";
}

} // namespace

BOOST_AUTO_TEST_CASE(q_is_the_q_factor_and_equals_cgs2) {
    unsigned seed = 1;
    for (const auto& shapes :
         {std::vector<extents>(std::begin(small_shapes), std::end(small_shapes)),
          std::vector<extents>(std::begin(block_shapes), std::end(block_shapes))})
        for (const auto& shape : shapes)
            BOOST_TEST_CONTEXT("K = " << shape.K << ", D = " << shape.D) {
                const std::size_t K = shape.K, D = shape.D;
                const auto wd = gaussian<double>(K * D, seed++);
                cqr<double> fast(K, D);
                cgs2<double> rows(K, D);
                const auto qd = forward(fast, wd);
                check_q_factor(wd, qd, K, D, 1e-13);
                BOOST_CHECK_LE(max_difference(qd, forward(rows, wd)), 1e-12);

                const std::vector<float> wf(wd.begin(), wd.end());
                cqr<float> fast_f(K, D);
                cgs2<float> rows_f(K, D);
                const auto qf = forward(fast_f, wf);
                check_q_factor(wf, qf, K, D, 2e-6);
                // Both are the Q of the same float W to float rounding, which κ(W) amplifies;
                // these Gaussian shapes have κ below ~300 (K = D = 100) and most far below.
                BOOST_CHECK_LE(max_difference(qf, forward(rows_f, wf)), K == D ? 3e-5 : 2e-6);
            }
}

BOOST_AUTO_TEST_CASE(backward_matches_central_differences) {
    // L = Σ R ⊙ Q(W): dL/dQ = R. Every entry for the small shapes; for the shapes that cross
    // the triangular blocks, 40 entries picked at random.
    unsigned seed = 100;
    std::mt19937 pick(7);
    for (const auto& shapes :
         {std::vector<extents>(std::begin(small_shapes), std::end(small_shapes)),
          std::vector<extents>{{97, 110}, {100, 100}}})
        for (const auto& shape : shapes)
            BOOST_TEST_CONTEXT("K = " << shape.K << ", D = " << shape.D) {
                const std::size_t K = shape.K, D = shape.D;
                auto w = gaussian<double>(K * D, seed++);
                const auto r = gaussian<double>(K * D, seed++);
                const auto before = gaussian<double>(K * D, seed++);
                cqr<double> fast(K, D);
                std::vector<double> q(K * D), dw = before;
                auto loss = [&] {
                    fast.forward(w, q);
                    double l = 0;
                    for (std::size_t i = 0; i < K * D; ++i)
                        l += r[i] * q[i];
                    return l;
                };
                const double value = loss();
                fast.backward(r, dw);
                const std::size_t n = K * D <= 400 ? K * D : 40;
                for (std::size_t c = 0; c < n; ++c) {
                    const std::size_t i =
                        n == K * D ? c
                                   : std::uniform_int_distribution<std::size_t>(0, K * D - 1)(pick);
                    const double x = w[i];
                    const auto f = [&](double xi) {
                        w[i] = xi;
                        const double l = loss();
                        w[i] = x;
                        return l;
                    };
                    const double analytic = dw[i] - before[i];
                    MASO_CHECK_DERIVATIVE(
                        analytic, maso_test::checked_difference(f, x, analytic, value), value);
                }
            }
}

BOOST_AUTO_TEST_CASE(backward_equals_the_row_by_row_cgs2_backward) {
    // Two derivations of the same derivative: the matrix form here, the row recursion of
    // gram_schmidt<cgs2>. They agree to rounding in double, and to float rounding in float.
    unsigned seed = 200;
    for (const auto& shape : block_shapes)
        BOOST_TEST_CONTEXT("K = " << shape.K << ", D = " << shape.D) {
            const std::size_t K = shape.K, D = shape.D;
            const auto w = gaussian<double>(K * D, seed++);
            const auto r = gaussian<double>(K * D, seed++);
            cqr<double> fast(K, D);
            cgs2<double> rows(K, D);
            std::vector<double> q(K * D), a(K * D, 0.0), b(K * D, 0.0);
            fast.forward(w, q);
            rows.forward(w, q);
            fast.backward(r, a);
            rows.backward(r, b);
            double largest = 0;
            for (const double x : b)
                largest = std::max(largest, std::fabs(x));
            BOOST_CHECK_LE(max_difference(a, b), 1e-11 * largest);

            const std::vector<float> wf(w.begin(), w.end()), rf(r.begin(), r.end());
            cqr<float> fast_f(K, D);
            std::vector<float> qf(K * D), af(K * D, 0.f);
            fast_f.forward(wf, qf);
            fast_f.backward(rf, af);
            double err = 0;
            for (std::size_t i = 0; i < K * D; ++i)
                err = std::max(err, std::fabs(double(af[i]) - b[i]));
            BOOST_CHECK_LE(err, (K == D ? 1e-3 : 1e-4) * largest);
        }
}

BOOST_AUTO_TEST_CASE(float_rows_with_condition_number_a_million) {
    // W = U·diag(s)·Q0 (U a random rotation of R^K, s from 1 down to 1e-6, Q0 orthonormal
    // rows): κ(W) = 1e6, not graded by rows. A Gram matrix formed in float is not positive
    // definite to float rounding there (κ²ε_float ≫ 1; with G1 formed in float this kernel
    // refused such W from κ ≈ 1e5), so this checks that G1 is formed in double: the rows must
    // come out orthogonal to §9.7's 1e-5, and Q the Q factor of W, which the double kernel of
    // gram_schmidt<cgs2> on the same float W gives to κ·ε_float.
    const std::size_t K = 200, D = 300;
    std::mt19937 g(11);
    std::normal_distribution<double> n;
    auto orthonormal_rows = [&](std::size_t rows, std::size_t cols) {
        std::vector<long double> m(rows * cols);
        for (auto& x : m)
            x = n(g);
        for (std::size_t j = 0; j < rows; ++j) {
            long double* mj = m.data() + j * cols;
            for (int pass = 0; pass < 2; ++pass)
                for (std::size_t i = 0; i < j; ++i) {
                    const long double* mi = m.data() + i * cols;
                    long double c = 0;
                    for (std::size_t d = 0; d < cols; ++d)
                        c += mi[d] * mj[d];
                    for (std::size_t d = 0; d < cols; ++d)
                        mj[d] -= c * mi[d];
                }
            long double s = 0;
            for (std::size_t d = 0; d < cols; ++d)
                s += mj[d] * mj[d];
            for (std::size_t d = 0; d < cols; ++d)
                mj[d] /= std::sqrt(s);
        }
        return m;
    };
    const auto u = orthonormal_rows(K, K), q0 = orthonormal_rows(K, D);
    std::vector<long double> us(K * K);
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t k = 0; k < K; ++k)
            us[i * K + k] = u[i * K + k] * std::pow(1e-6L, (long double)k / (K - 1));
    std::vector<float> w(K * D);
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t d = 0; d < D; ++d) {
            long double s = 0;
            for (std::size_t k = 0; k < K; ++k)
                s += us[i * K + k] * q0[k * D + d];
            w[i * D + d] = static_cast<float>(s);
        }
    cqr<float> fast(K, D);
    const auto q = forward(fast, w);
    BOOST_CHECK_LE(ortho::orthogonality_defect<float>(q, K, D), 1e-5);
    check_q_factor(w, q, K, D, 1e-5);
    const std::vector<double> wd(w.begin(), w.end());
    cgs2<double> reference(K, D);
    const auto qd = forward(reference, wd);
    BOOST_CHECK_LE(max_difference(std::vector<double>(q.begin(), q.end()), qd), 0.05);
}

BOOST_AUTO_TEST_CASE(thread_count_does_not_change_a_bit) {
    maso_test::thread_count_guard guard;
    const std::size_t K = 192, D = 300;
    const auto w = gaussian<float>(K * D, 3);
    const auto dq = gaussian<float>(K * D, 4);
    std::vector<float> q[2], dw[2];
    for (std::size_t threads : {1u, 2u}) {
        maso::set_num_threads(threads);
        cqr<float> fast(K, D);
        q[threads - 1].resize(K * D);
        dw[threads - 1].assign(K * D, -0.5f);
        fast.forward(w, q[threads - 1]);
        fast.backward(dq, dw[threads - 1]);
    }
    BOOST_CHECK(std::memcmp(q[0].data(), q[1].data(), K * D * sizeof(float)) == 0);
    BOOST_CHECK(std::memcmp(dw[0].data(), dw[1].data(), K * D * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(no_allocation_after_construction) {
    maso_test::thread_count_guard guard;
    maso::set_num_threads(2);
    const std::size_t K = 192, D = 300;
    const auto w = gaussian<float>(K * D, 5);
    std::vector<float> q(K * D), dw(K * D, 0.f);
    cqr<float> fast(K, D);
    const long before = maso_test::allocations(); // from the very first call on
    fast.forward(w, q);
    fast.backward(q, dw);
    fast.forward(w, q);
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
}

BOOST_AUTO_TEST_CASE(refusals_name_the_problem) {
    BOOST_CHECK_EQUAL(message_of([] { cqr<float>(96, 27); }),
                      "maso: ortho::cholesky_qr: K = 96 rows of length D = 27 cannot be "
                      "orthogonal (needs K <= D); use ortho::penalty");
    const std::size_t K = 3, D = 4;
    // Row 2 = row 0 + row 1, exactly.
    const std::vector<double> dependent{1, 2, 0, 1, 0, 1, 3, -1, 1, 3, 3, 0};
    std::vector<double> q(K * D), dw(K * D, 0.0);
    cqr<double> fast(K, D, "node 4 (dense<3>)");
    BOOST_CHECK_EQUAL(message_of([&] { fast.forward(dependent, q); })
                          .find("maso: node 4 (dense<3>): row 2 of the weight is a linear "
                                "combination of the rows before it to working precision"),
                      0u);
    BOOST_CHECK_EQUAL(message_of([&] { fast.backward(q, dw); }),
                      "maso: node 4 (dense<3>): backward() needs a successful forward() first");
    std::vector<double> bad = dependent;
    bad[11] = std::numeric_limits<double>::quiet_NaN();
    BOOST_CHECK_EQUAL(message_of([&] { fast.forward(bad, q); }),
                      "maso: node 4 (dense<3>): the weight has a non-finite value (nan) at row 2, "
                      "column 3");
    BOOST_CHECK_EQUAL(message_of([&] { fast.forward(std::span<const double>(bad).first(11), q); }),
                      "maso: node 4 (dense<3>): the weight has 11 elements, expected 12");
}
