// Tests of include/maso/core/diagnostics.hpp. Each E-code's message is checked
// by its compile-fail test (tests/compile_fail/); here: the codes are stable
// numbers and report<ok> is silent.
#include <maso/core/diagnostics.hpp>

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_CASE(codes_are_stable) {
    static_assert(maso::detail::report<maso::diag::ok>());
    static_assert(int(maso::diag::chain_needs_input) == 10);
    static_assert(int(maso::diag::dense_needs_vector) == 12);
    static_assert(int(maso::diag::pool_not_dividing) == 14);
    static_assert(int(maso::diag::softmax_needs_vector) == 21);
    BOOST_CHECK(true);
}
