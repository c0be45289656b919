// Tests of include/maso/ortho/penalty.hpp, built once per ISA: the value of both penalties
// against their definition (a naive Gram matrix in double), the gradient against central
// differences in double (K = D, K ≪ D and K > D), exact zeros at orthogonal rows, float
// against double, the same bits at 1 and 2 threads, no allocation, and the refused arguments.
#include <maso/ortho/penalty.hpp>

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
using ortho::penalty_form;

namespace {

struct extents {
    std::size_t K, D;
};
// K = D, K ≪ D, K > D (a penalty allows it: largeCNN's first layer is 96 × 27), one row.
const extents shapes[] = {{1, 1}, {1, 5}, {3, 3}, {4, 4}, {5, 9}, {3, 20}, {12, 5}, {7, 16}};
const penalty_form forms[] = {penalty_form::off_diagonal, penalty_form::orthonormal};

const char* name(penalty_form f) {
    return f == penalty_form::off_diagonal ? "off_diagonal" : "orthonormal";
}

/// P(W) from its definition: G by a triple loop in double.
double reference_value(const std::vector<double>& w, std::size_t K, std::size_t D,
                       penalty_form form) {
    double p = 0;
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t j = 0; j < K; ++j) {
            double g = 0;
            for (std::size_t d = 0; d < D; ++d)
                g += w[i * D + d] * w[j * D + d];
            if (form == penalty_form::off_diagonal && i != j) p += g * g;
            if (form == penalty_form::orthonormal) p += (g - (i == j)) * (g - (i == j));
        }
    return form == penalty_form::off_diagonal ? p / double(K * K) : p;
}

template <class T, class U>
std::vector<T> to(const std::vector<U>& v) {
    return std::vector<T>(v.begin(), v.end());
}

} // namespace

BOOST_AUTO_TEST_CASE(value_is_the_definition) {
    for (const auto& shape : shapes)
        for (const auto form : forms)
            BOOST_TEST_CONTEXT(name(form) << " K = " << shape.K << ", D = " << shape.D) {
                const std::size_t K = shape.K, D = shape.D;
                const auto w = maso_test::uniform_vector<double>(K * D, -1, 1);
                const double want = reference_value(w, K, D, form);
                ortho::penalty_kernel<double, test_arch> pd(K, D, form);
                MASO_CHECK_CLOSE(pd.value(w), want, 1e-13, 1e-12);
                const auto wf = to<float>(w);
                ortho::penalty_kernel<float, test_arch> pf(K, D, form);
                MASO_CHECK_CLOSE(pf.value(wf), reference_value(to<double>(wf), K, D, form), 1e-5,
                                 1e-5);
            }
}

BOOST_AUTO_TEST_CASE(gradient_matches_central_differences_and_is_added) {
    for (const auto& shape : shapes)
        for (const auto form : forms)
            for (const double lambda : {1.0, 0.3})
                BOOST_TEST_CONTEXT(name(form) << " K = " << shape.K << ", D = " << shape.D
                                              << ", lambda = " << lambda) {
                    const std::size_t K = shape.K, D = shape.D;
                    auto w = maso_test::uniform_vector<double>(K * D, -1, 1);
                    const auto before = maso_test::uniform_vector<double>(K * D, -1, 1);
                    ortho::penalty_kernel<double, test_arch> p(K, D, form);
                    std::vector<double> grad = before;
                    const double value = p.add_gradient(w, grad, lambda);
                    MASO_CHECK_CLOSE(value, reference_value(w, K, D, form), 1e-13, 1e-12);
                    for (std::size_t i = 0; i < K * D; ++i) {
                        const double x = w[i];
                        const auto f = [&](double xi) {
                            w[i] = xi;
                            const double v = lambda * p.value(w);
                            w[i] = x;
                            return v;
                        };
                        MASO_CHECK_DERIVATIVE(grad[i] - before[i],
                                              maso_test::central_difference(f, x), value);
                    }
                }
}

BOOST_AUTO_TEST_CASE(orthogonal_rows_give_exact_zeros) {
    // Rows s_k·e_{π(k)}: exactly orthogonal, of norms s_k. P-a is 0 for any norms and adds
    // nothing to the gradient; P-c is Σ (s_k² − 1)², and its gradient 4(s_k² − 1)s_k on the
    // one non-zero entry of each row.
    const std::size_t K = 5, D = 8;
    const std::size_t column[K] = {3, 0, 7, 1, 5};
    const double s[K] = {0.5, 2.0, 1.0, 1.5, 0.25};
    std::vector<double> w(K * D, 0.0);
    for (std::size_t k = 0; k < K; ++k)
        w[k * D + column[k]] = s[k];
    ortho::penalty_kernel<double, test_arch> pa(K, D);
    std::vector<double> grad(K * D, 0.0);
    BOOST_CHECK_EQUAL(pa.add_gradient(w, grad), 0.0);
    for (const double g : grad)
        BOOST_CHECK_EQUAL(g, 0.0);
    ortho::penalty_kernel<double, test_arch> pc(K, D, penalty_form::orthonormal);
    double want = 0;
    for (const double sk : s)
        want += (sk * sk - 1) * (sk * sk - 1);
    BOOST_CHECK_EQUAL(pc.add_gradient(w, grad), want);
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t d = 0; d < D; ++d)
            BOOST_CHECK_EQUAL(grad[k * D + d], d == column[k] ? 4 * (s[k] * s[k] - 1) * s[k] : 0.0);
}

BOOST_AUTO_TEST_CASE(float_tracks_double) {
    // The shape of largeCNN's second layer: 96 filters of 96·3·3.
    const std::size_t K = 96, D = 864;
    const auto wf = maso_test::uniform_vector<float>(K * D, -0.06, 0.06);
    const std::vector<double> wd(wf.begin(), wf.end());
    for (const auto form : forms)
        BOOST_TEST_CONTEXT(name(form)) {
            ortho::penalty_kernel<float, test_arch> pf(K, D, form);
            ortho::penalty_kernel<double, test_arch> pd(K, D, form);
            std::vector<float> gf(K * D, 0.f);
            std::vector<double> gd(K * D, 0.0);
            MASO_CHECK_CLOSE(pf.add_gradient(wf, gf), pd.add_gradient(wd, gd), 1e-5, 0);
            double largest = 0, worst = 0;
            for (std::size_t i = 0; i < K * D; ++i) {
                largest = std::max(largest, std::fabs(gd[i]));
                worst = std::max(worst, std::fabs(double(gf[i]) - gd[i]));
            }
            BOOST_CHECK_LE(worst, 1e-5 * largest);
        }
}

BOOST_AUTO_TEST_CASE(thread_count_does_not_change_a_bit) {
    maso_test::thread_count_guard guard;
    const std::size_t K = 96, D = 864; // G's product is over the GEMM's threading threshold
    const auto w = maso_test::uniform_vector<float>(K * D, -0.06, 0.06);
    const auto before = maso_test::uniform_vector<float>(K * D, -1, 1);
    for (const auto form : forms) {
        std::vector<float> grads[2];
        double values[2];
        for (std::size_t threads : {1u, 2u}) {
            maso::set_num_threads(threads);
            ortho::penalty_kernel<float, test_arch> p(K, D, form);
            grads[threads - 1] = before;
            values[threads - 1] = p.add_gradient(w, grads[threads - 1], 0.7);
        }
        BOOST_CHECK_EQUAL(values[0], values[1]);
        BOOST_CHECK(std::memcmp(grads[0].data(), grads[1].data(), K * D * sizeof(float)) == 0);
    }
}

BOOST_AUTO_TEST_CASE(no_allocation_after_construction) {
    maso_test::thread_count_guard guard;
    maso::set_num_threads(2);
    const std::size_t K = 96, D = 864;
    const auto w = maso_test::uniform_vector<float>(K * D, -0.06, 0.06);
    std::vector<float> grad(K * D, 0.f);
    ortho::penalty_kernel<float, test_arch> p(K, D);
    const long before = maso_test::allocations(); // from the very first call on
    p.value(w);
    p.add_gradient(w, grad);
    p.add_gradient(w, grad, 0.5);
    p.value(w);
    p.add_gradient_at_value(w, grad, 2);
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
}

// A layer's path: value() before forward, add_gradient_at_value() after backward, from the Gram
// matrix value() kept — bitwise add_gradient's, again on a second call; refused before value().
BOOST_AUTO_TEST_CASE(gradient_at_value_is_add_gradient) {
    for (const penalty_form form : {penalty_form::off_diagonal, penalty_form::orthonormal}) {
        const std::size_t K = 7, D = 19;
        const auto w = maso_test::uniform_vector<float>(K * D, -1, 1);
        std::vector<float> expected(K * D, 0.25f), got(K * D, 0.25f);
        ortho::penalty_kernel<float, test_arch> a(K, D, form), b(K, D, form);
        BOOST_CHECK_THROW(b.add_gradient_at_value(w, got, 1.5), maso::value_error);
        const double p = a.add_gradient(w, expected, 1.5);
        BOOST_TEST(b.value(w) == p);
        b.add_gradient_at_value(w, got, 1.5);
        BOOST_TEST(got == expected);
        a.add_gradient(w, expected, 1.5);
        b.add_gradient_at_value(w, got, 1.5);
        BOOST_TEST(got == expected);
        BOOST_CHECK_THROW(b.add_gradient_at_value(w, got, -1), maso::value_error);
    }
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_refused_with_their_names) {
    const std::size_t K = 3, D = 4;
    auto w = maso_test::uniform_vector<double>(K * D, -1, 1);
    std::vector<double> grad(K * D, 0.0);
    ortho::penalty_kernel<double, test_arch> p(K, D, penalty_form::off_diagonal, "node 2 (conv2d)");
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const maso::error& e) {
            return std::string(e.what());
        }
        return std::string("nothing thrown");
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const double lambda : {-1.0, nan, std::numeric_limits<double>::infinity()}) {
        BOOST_CHECK_THROW(p.add_gradient(w, grad, lambda), maso::value_error);
        BOOST_CHECK_EQUAL(message([&] {
                              p.add_gradient(w, grad, lambda);
                          }).find("maso: node 2 (conv2d): lambda = "),
                          0u);
    }
    for (const double g : grad)
        BOOST_CHECK_EQUAL(g, 0.0); // refused before anything was added
    w[1 * D + 2] = nan;
    BOOST_CHECK_THROW(p.value(w), maso::numeric_error);
    BOOST_CHECK_EQUAL(message([&] { p.value(w); }),
                      "maso: node 2 (conv2d): the weight has a non-finite value (nan) at row 1, "
                      "column 2");
    w[1 * D + 2] = 0.5;
    BOOST_CHECK_THROW(p.value(std::span<const double>(w).first(K * D - 1)), maso::size_error);
    BOOST_CHECK_THROW(p.add_gradient(w, std::span<double>(grad).first(2)), maso::size_error);
    BOOST_CHECK_THROW((ortho::penalty_kernel<double, test_arch>(0, 4)), maso::value_error);
    BOOST_CHECK_THROW((ortho::penalty_kernel<double, test_arch>(4, 0)), maso::value_error);
}
