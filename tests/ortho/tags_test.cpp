// Tests of include/maso/ortho/tags.hpp: what each tag tells a planner at compile time, and
// that only the tags are constraints.
#include <maso/ortho/tags.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace maso::ortho;

// The traits are compile-time constants: a planner reads them in a constant expression.
static_assert(!traits<none>::adds_loss_term && !traits<none>::reparametrises &&
              !traits<none>::requires_k_le_d);
static_assert(traits<penalty<>>::adds_loss_term && !traits<penalty<>>::reparametrises);
static_assert(!traits<penalty<penalty_form::orthonormal>>::requires_k_le_d);
static_assert(!traits<gram_schmidt<>>::adds_loss_term && traits<gram_schmidt<>>::reparametrises);
static_assert(traits<gram_schmidt<gs_form::cgs2>>::requires_k_le_d);
static_assert(traits<cholesky_qr>::reparametrises && traits<cholesky_qr>::requires_k_le_d);

static_assert(constraint<none> && constraint<penalty<>> && constraint<gram_schmidt<>> &&
              constraint<gram_schmidt<gs_form::cgs2>> && constraint<cholesky_qr>);
static_assert(!constraint<int> && !constraint<penalty_form> && !constraint<void>);

// The defaults the paper uses: the off-diagonal penalty (P-a), the authors' classical GS.
static_assert(penalty<>::form == penalty_form::off_diagonal);
static_assert(gram_schmidt<>::form == gs_form::classical);

BOOST_AUTO_TEST_CASE(lambda_is_a_run_time_value_defaulting_to_one) {
    const penalty<> p;
    BOOST_CHECK_EQUAL(p.lambda, 1.0);
    const penalty<penalty_form::orthonormal> q{.lambda = 0.25};
    BOOST_CHECK_EQUAL(q.lambda, 0.25);
}

BOOST_AUTO_TEST_CASE(names_are_spelled_as_a_user_writes_the_tag) {
    BOOST_CHECK_EQUAL(std::string(traits<none>::name()), "ortho::none");
    BOOST_CHECK_EQUAL(std::string(traits<penalty<>>::name()), "ortho::penalty<off_diagonal>");
    BOOST_CHECK_EQUAL(std::string(traits<penalty<penalty_form::orthonormal>>::name()),
                      "ortho::penalty<orthonormal>");
    BOOST_CHECK_EQUAL(std::string(traits<gram_schmidt<>>::name()),
                      "ortho::gram_schmidt<classical>");
    BOOST_CHECK_EQUAL(std::string(traits<gram_schmidt<gs_form::cgs2>>::name()),
                      "ortho::gram_schmidt<cgs2>");
    BOOST_CHECK_EQUAL(std::string(traits<cholesky_qr>::name()), "ortho::cholesky_qr");
}
