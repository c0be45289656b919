// Tests of include/maso/ortho/gram_schmidt.hpp, built once per ISA: the classical form is the
// paper's formula (a plain loop in long double), v_1 = w_1, and its float output is the
// rounding of its double output; cgs2 gives the Q factor (orthonormal rows, W·Qᵀ lower
// triangular with a positive diagonal); both backwards against central differences in double
// (K = D and K ≪ D); paper-spec §9.7's float test on a square matrix, beside a plain float
// classical GS that fails it; the same bits at 1 and 2 threads; no allocation; the refusals.
#include <maso/ortho/gram_schmidt.hpp>
#include <maso/ortho/metrics.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using maso_test::test_arch;
namespace ortho = maso::ortho;
using ortho::gs_form;

namespace {

template <class T, gs_form F>
using kernel = ortho::gram_schmidt_kernel<T, F, test_arch>;

struct extents {
    std::size_t K, D;
};
const extents shapes[] = {{1, 1}, {1, 4}, {2, 2}, {3, 3}, {4, 4}, {5, 9}, {3, 20}, {6, 6}, {8, 13}};

/// The paper's classical GS, literally, in long double: v_j = w_j − Σ_{i<j} (<v_i, w_j>/n_i) v_i.
std::vector<long double> reference_classical(const std::vector<double>& w, std::size_t K,
                                             std::size_t D) {
    std::vector<long double> v(K * D);
    std::vector<long double> n(K);
    for (std::size_t j = 0; j < K; ++j) {
        for (std::size_t d = 0; d < D; ++d)
            v[j * D + d] = w[j * D + d];
        for (std::size_t i = 0; i < j; ++i) {
            long double c = 0;
            for (std::size_t d = 0; d < D; ++d)
                c += v[i * D + d] * w[j * D + d];
            c /= n[i];
            for (std::size_t d = 0; d < D; ++d)
                v[j * D + d] -= c * v[i * D + d];
        }
        n[j] = 0;
        for (std::size_t d = 0; d < D; ++d)
            n[j] += v[j * D + d] * v[j * D + d];
    }
    return v;
}

/// Rows of a random matrix with entries in [−1, 1].
std::vector<double> random_rows(std::size_t K, std::size_t D) {
    return maso_test::uniform_vector<double>(K * D, -1, 1);
}

template <class T>
double row_norm(const std::vector<T>& v, std::size_t j, std::size_t D) {
    double s = 0;
    for (std::size_t d = 0; d < D; ++d)
        s += double(v[j * D + d]) * double(v[j * D + d]);
    return std::sqrt(s);
}

template <class T>
double row_dot(const std::vector<T>& a, std::size_t i, const std::vector<T>& b, std::size_t j,
               std::size_t D) {
    double s = 0;
    for (std::size_t d = 0; d < D; ++d)
        s += double(a[i * D + d]) * double(b[j * D + d]);
    return s;
}

template <class T, gs_form F>
std::vector<T> forward(const std::vector<T>& w, std::size_t K, std::size_t D) {
    kernel<T, F> gs(K, D);
    std::vector<T> v(K * D);
    gs.forward(w, v);
    return v;
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

BOOST_AUTO_TEST_CASE(classical_is_the_papers_formula) {
    for (const auto& shape : shapes)
        BOOST_TEST_CONTEXT("K = " << shape.K << ", D = " << shape.D) {
            const std::size_t K = shape.K, D = shape.D;
            const auto w = random_rows(K, D);
            const auto want = reference_classical(w, K, D);
            const auto v = forward<double, gs_form::classical>(w, K, D);
            for (std::size_t j = 0; j < K; ++j) {
                const double scale = row_norm(w, j, D);
                for (std::size_t d = 0; d < D; ++d)
                    MASO_CHECK_CLOSE(v[j * D + d], double(want[j * D + d]), 1e-12, scale);
            }
            // Filter order matters (§9.7): the first row is kept as it is, bit for bit.
            for (std::size_t d = 0; d < D; ++d)
                BOOST_CHECK_EQUAL(v[d], w[d]);
        }
}

BOOST_AUTO_TEST_CASE(classical_float_is_the_rounded_double) {
    // The classical form computes in double whatever T is, so the float kernel's V is the
    // float rounding of the double kernel's V on the same (float) weights, bit for bit.
    const std::size_t K = 40, D = 70;
    const auto wf = maso_test::uniform_vector<float>(K * D, -1, 1);
    const std::vector<double> wd(wf.begin(), wf.end());
    const auto vf = forward<float, gs_form::classical>(wf, K, D);
    const auto vd = forward<double, gs_form::classical>(wd, K, D);
    for (std::size_t i = 0; i < K * D; ++i)
        BOOST_CHECK_EQUAL(vf[i], static_cast<float>(vd[i]));
}

BOOST_AUTO_TEST_CASE(cgs2_is_the_q_factor) {
    // Q is unique: orthonormal rows with W·Qᵀ lower triangular and a positive diagonal, i.e.
    // the classical V with its rows normalised.
    for (const auto& shape : shapes)
        BOOST_TEST_CONTEXT("K = " << shape.K << ", D = " << shape.D) {
            const std::size_t K = shape.K, D = shape.D;
            const auto w = random_rows(K, D);
            const auto q = forward<double, gs_form::cgs2>(w, K, D);
            const auto v = reference_classical(w, K, D);
            for (std::size_t j = 0; j < K; ++j) {
                long double n = 0;
                for (std::size_t d = 0; d < D; ++d)
                    n += v[j * D + d] * v[j * D + d];
                for (std::size_t d = 0; d < D; ++d)
                    MASO_CHECK_CLOSE(q[j * D + d], double(v[j * D + d] / std::sqrt(n)), 1e-12, 1);
                for (std::size_t i = 0; i < K; ++i) {
                    BOOST_CHECK_SMALL(row_dot(q, i, q, j, D) - (i == j), 1e-14);
                    const double wq = row_dot(w, j, q, i, D); // (W·Qᵀ)_ji
                    if (i > j) BOOST_CHECK_SMALL(wq, 1e-14 * row_norm(w, j, D));
                    if (i == j) BOOST_CHECK_GT(wq, 0);
                }
            }
        }
}

BOOST_AUTO_TEST_CASE(backward_matches_central_differences) {
    // L = Σ R ⊙ GS(W) with a random R, so that dL/dV = R; the kernel adds dL/dW to a
    // gradient that already holds something.
    auto check = [](auto form_constant) {
        constexpr gs_form F = decltype(form_constant)::value;
        for (const auto& shape : shapes)
            BOOST_TEST_CONTEXT((F == gs_form::classical ? "classical" : "cgs2")
                               << " K = " << shape.K << ", D = " << shape.D) {
                const std::size_t K = shape.K, D = shape.D;
                auto w = random_rows(K, D);
                const auto r = maso_test::uniform_vector<double>(K * D, -1, 1);
                const auto before = maso_test::uniform_vector<double>(K * D, -1, 1);
                kernel<double, F> gs(K, D);
                std::vector<double> v(K * D), dw = before;
                auto loss = [&] {
                    gs.forward(w, v);
                    double l = 0;
                    for (std::size_t i = 0; i < K * D; ++i)
                        l += r[i] * v[i];
                    return l;
                };
                const double value = loss();
                gs.backward(r, dw);
                for (std::size_t i = 0; i < K * D; ++i) {
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
    };
    check(std::integral_constant<gs_form, gs_form::classical>{});
    check(std::integral_constant<gs_form, gs_form::cgs2>{});
}

BOOST_AUTO_TEST_CASE(cgs2_float_tracks_double) {
    const std::size_t K = 48, D = 100;
    const auto wf = maso_test::uniform_vector<float>(K * D, -1, 1);
    const std::vector<double> wd(wf.begin(), wf.end());
    const auto dqf = maso_test::uniform_vector<float>(K * D, -1, 1);
    const std::vector<double> dqd(dqf.begin(), dqf.end());
    kernel<float, gs_form::cgs2> gf(K, D);
    kernel<double, gs_form::cgs2> gd(K, D);
    std::vector<float> qf(K * D), dwf(K * D, 0.f);
    std::vector<double> qd(K * D), dwd(K * D, 0.0);
    gf.forward(wf, qf);
    gd.forward(wd, qd);
    gf.backward(dqf, dwf);
    gd.backward(dqd, dwd);
    double q_err = 0, g_err = 0, g_max = 0;
    for (std::size_t i = 0; i < K * D; ++i) {
        q_err = std::max(q_err, std::fabs(double(qf[i]) - qd[i]));
        g_err = std::max(g_err, std::fabs(double(dwf[i]) - dwd[i]));
        g_max = std::max(g_max, std::fabs(dwd[i]));
    }
    BOOST_CHECK_LE(q_err, 1e-5);
    BOOST_CHECK_LE(g_err, 1e-4 * g_max);
}

BOOST_AUTO_TEST_CASE(float_rows_stay_orthogonal_where_plain_float_classical_does_not) {
    // §9.7: the exact paths must give max |cos(v_i, v_j)| ≤ 1e-5 in float. A square random
    // matrix (κ in the hundreds) is where classical GS in float loses it (≈ κ²ε); the plain
    // float loop below shows that it does, so that the kernel's passing is not a free pass.
    const std::size_t K = 256, D = 256;
    const auto w = maso_test::uniform_vector<float>(K * D, -1, 1);
    std::vector<float> plain(w);
    for (std::size_t j = 0; j < K; ++j) {
        float* vj = plain.data() + j * D;
        for (std::size_t i = 0; i < j; ++i) {
            const float* vi = plain.data() + i * D;
            float c = 0, n = 0;
            for (std::size_t d = 0; d < D; ++d) {
                c += vi[d] * w[j * D + d];
                n += vi[d] * vi[d];
            }
            for (std::size_t d = 0; d < D; ++d)
                vj[d] -= (c / n) * vi[d];
        }
    }
    BOOST_CHECK_GT(ortho::orthogonality_defect<float>(plain, K, D), 1e-4);
    BOOST_CHECK_LE(
        ortho::orthogonality_defect<float>(forward<float, gs_form::classical>(w, K, D), K, D),
        1e-5);
    BOOST_CHECK_LE(ortho::orthogonality_defect<float>(forward<float, gs_form::cgs2>(w, K, D), K, D),
                   1e-5);
}

BOOST_AUTO_TEST_CASE(thread_count_does_not_change_a_bit) {
    maso_test::thread_count_guard guard;
    const std::size_t K = 96, D = 864; // later rows are over the threading threshold
    const auto w = maso_test::uniform_vector<float>(K * D, -0.06, 0.06);
    const auto dv = maso_test::uniform_vector<float>(K * D, -1, 1);
    auto run = [&](auto form_constant) {
        constexpr gs_form F = decltype(form_constant)::value;
        std::vector<float> v[2], dw[2];
        for (std::size_t threads : {1u, 2u}) {
            maso::set_num_threads(threads);
            kernel<float, F> gs(K, D);
            v[threads - 1].resize(K * D);
            dw[threads - 1].assign(K * D, 0.25f);
            gs.forward(w, v[threads - 1]);
            gs.backward(dv, dw[threads - 1]);
        }
        BOOST_CHECK(std::memcmp(v[0].data(), v[1].data(), K * D * sizeof(float)) == 0);
        BOOST_CHECK(std::memcmp(dw[0].data(), dw[1].data(), K * D * sizeof(float)) == 0);
    };
    run(std::integral_constant<gs_form, gs_form::classical>{});
    run(std::integral_constant<gs_form, gs_form::cgs2>{});
}

BOOST_AUTO_TEST_CASE(no_allocation_after_construction) {
    maso_test::thread_count_guard guard;
    maso::set_num_threads(2);
    const std::size_t K = 96, D = 864;
    const auto w = maso_test::uniform_vector<float>(K * D, -0.06, 0.06);
    std::vector<float> v(K * D), dw(K * D, 0.f);
    kernel<float, gs_form::classical> classical(K, D);
    kernel<float, gs_form::cgs2> cgs2(K, D);
    const long before = maso_test::allocations(); // from the very first call on
    classical.forward(w, v);
    classical.backward(v, dw);
    cgs2.forward(w, v);
    cgs2.backward(v, dw);
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
}

BOOST_AUTO_TEST_CASE(refusals_name_the_problem) {
    BOOST_CHECK_THROW((kernel<double, gs_form::classical>(5, 4)), maso::value_error);
    BOOST_CHECK_EQUAL(message_of([] { kernel<double, gs_form::cgs2>(96, 27, "node 1 (conv2d)"); }),
                      "maso: node 1 (conv2d): K = 96 rows of length D = 27 cannot be orthogonal "
                      "(needs K <= D); use ortho::penalty");
    BOOST_CHECK_THROW((kernel<double, gs_form::cgs2>(0, 4)), maso::value_error);

    const std::size_t K = 3, D = 4;
    // Row 2 = row 0 + row 1, exactly (small integers).
    const std::vector<double> dependent{1, 2, 0, 1, 0, 1, 3, -1, 1, 3, 3, 0};
    std::vector<double> v(K * D), dw(K * D, 0.0);
    kernel<double, gs_form::classical> classical(K, D);
    kernel<double, gs_form::cgs2> cgs2(K, D);
    BOOST_CHECK_THROW(classical.forward(dependent, v), maso::numeric_error);
    BOOST_CHECK_EQUAL(message_of([&] { cgs2.forward(dependent, v); })
                          .find("maso: ortho::gram_schmidt: row 2 of the weight is a linear "
                                "combination of the rows before it to working precision"),
                      0u);
    // A forward that failed leaves nothing to go back through.
    BOOST_CHECK_THROW(cgs2.backward(v, dw), maso::value_error);
    kernel<double, gs_form::cgs2> fresh(K, D);
    BOOST_CHECK_EQUAL(message_of([&] { fresh.backward(v, dw); }),
                      "maso: ortho::gram_schmidt: backward() needs a successful forward() first");
    // A zero row is dependent on anything.
    std::vector<double> zero_row{1, 2, 0, 1, 0, 0, 0, 0, 1, 3, 3, 0};
    BOOST_CHECK_THROW(classical.forward(zero_row, v), maso::numeric_error);
    std::vector<double> bad{1, 2, 0, 1, 0, 1, 3, -1, 1, 3, 3, 7};
    bad[6] = std::numeric_limits<double>::infinity();
    BOOST_CHECK_EQUAL(message_of([&] { classical.forward(bad, v); }),
                      "maso: ortho::gram_schmidt: the weight has a non-finite value (inf) at row "
                      "1, column 2");
    bad[6] = 3;
    BOOST_CHECK_THROW(classical.forward(bad, std::span<double>(v).first(5)), maso::size_error);
    classical.forward(bad, v);
    BOOST_CHECK_THROW(classical.backward(std::span<const double>(v).first(5), dw),
                      maso::size_error);
}
