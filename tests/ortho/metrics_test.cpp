// Tests of include/maso/ortho/metrics.hpp: the defect on rows whose angles are known, zero rows,
// one row; the penalty value against its definition (both forms, float and double) and
// against ortho::penalty_kernel; the same result at 1 and 2 threads; no allocation; refusals.
#include <maso/ortho/metrics.hpp>
#include <maso/ortho/penalty.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace ortho = maso::ortho;
using ortho::penalty_form;

BOOST_AUTO_TEST_CASE(defect_is_the_largest_cosine) {
    // Rows 1, 2, 3 at 90°, 60° (cos 1/2) and 135° (|cos| = 1/√2) to row 0, scaled differently;
    // rows 1 and 2 at 30° (cos √3/2), rows 2 and 3 at 105°, rows 1 and 3 at 90°.
    const std::vector<double> w{2,   0,
                                0, //
                                0,   3,
                                0, //
                                0.5, 0.5 * std::sqrt(3.0),
                                0, //
                                -4,  0,
                                4};
    MASO_CHECK_CLOSE(ortho::orthogonality_defect<double>(w, 4, 3), std::sqrt(3.0) / 2, 1e-15, 0);
    const std::vector<double> w03{2, 0, 0, -4, 0, 4};
    MASO_CHECK_CLOSE(ortho::orthogonality_defect<double>(w03, 2, 3), 1 / std::sqrt(2.0), 1e-15, 0);
    BOOST_CHECK_EQUAL(ortho::orthogonality_defect<double>(std::span(w).first(6), 2, 3), 0.0);
    BOOST_CHECK_EQUAL(ortho::orthogonality_defect<double>(std::span(w).first(3), 1, 3), 0.0);
    // A zero row is orthogonal to every row; parallel rows give 1.
    const std::vector<float> z{0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2};
    BOOST_CHECK_EQUAL(ortho::orthogonality_defect<float>(std::span(z).first(12), 3, 4), 0.0);
    MASO_CHECK_CLOSE(ortho::orthogonality_defect<float>(z, 4, 4), 1.0, 1e-7, 0);
}

namespace {
double reference_penalty(const std::vector<double>& w, std::size_t K, std::size_t D,
                         penalty_form form) {
    double p = 0;
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t j = 0; j < K; ++j) {
            double g = 0;
            for (std::size_t d = 0; d < D; ++d)
                g += w[i * D + d] * w[j * D + d];
            if (i != j || form == penalty_form::orthonormal) p += (g - (i == j)) * (g - (i == j));
        }
    return form == penalty_form::off_diagonal ? p / double(K * K) : p;
}
} // namespace

BOOST_AUTO_TEST_CASE(penalty_value_is_the_definition) {
    for (const auto form : {penalty_form::off_diagonal, penalty_form::orthonormal})
        for (const auto& shape :
             {std::pair<std::size_t, std::size_t>{1, 3}, {4, 4}, {7, 3}, {20, 50}})
            BOOST_TEST_CONTEXT("K = " << shape.first << ", D = " << shape.second) {
                const std::size_t K = shape.first, D = shape.second;
                const auto w = maso_test::uniform_vector<double>(K * D, -1, 1);
                const double want = reference_penalty(w, K, D, form);
                MASO_CHECK_CLOSE(ortho::penalty_value<double>(w, K, D, form), want, 1e-13, 1e-14);
                const std::vector<float> wf(w.begin(), w.end());
                MASO_CHECK_CLOSE(
                    ortho::penalty_value<float>(wf, K, D, form),
                    reference_penalty(std::vector<double>(wf.begin(), wf.end()), K, D, form), 1e-5,
                    1e-6);
                ortho::penalty_kernel<double> kernel(K, D, form);
                MASO_CHECK_CLOSE(ortho::penalty_value<double>(w, K, D, form), kernel.value(w),
                                 1e-13, 1e-14);
            }
}

BOOST_AUTO_TEST_CASE(same_result_at_one_and_two_threads_and_no_allocation) {
    maso_test::thread_count_guard guard;
    const std::size_t K = 96, D = 864;
    const auto w = maso_test::uniform_vector<float>(K * D, -0.06, 0.06);
    double defect[2], value[2];
    for (std::size_t threads : {1u, 2u}) {
        maso::set_num_threads(threads);
        ortho::orthogonality_defect<float>(w, K, D); // the pool's threads are started
        const long before = maso_test::allocations();
        defect[threads - 1] = ortho::orthogonality_defect<float>(w, K, D);
        value[threads - 1] = ortho::penalty_value<float>(w, K, D);
        BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
    }
    BOOST_CHECK_EQUAL(defect[0], defect[1]);
    BOOST_CHECK_EQUAL(value[0], value[1]);
}

BOOST_AUTO_TEST_CASE(refusals) {
    std::vector<double> w{1, 0, 0, 1};
    BOOST_CHECK_THROW(ortho::orthogonality_defect<double>(w, 2, 3), maso::size_error);
    BOOST_CHECK_THROW(ortho::penalty_value<double>(w, 0, 4), maso::value_error);
    w[3] = std::numeric_limits<double>::quiet_NaN();
    BOOST_CHECK_THROW(ortho::orthogonality_defect<double>(w, 2, 2), maso::numeric_error);
    BOOST_CHECK_THROW(ortho::penalty_value<double>(w, 2, 2), maso::numeric_error);
}
