// Tests of include/maso/ortho/check_shape.hpp: the shapes that compile. The shape that does
// not (K > D under an exact path) is tests/compile_fail/e024_rows_exceed_fan_in.cpp.
#include <maso/ortho/check_shape.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso::ortho;

// The exact paths accept K ≤ D, K = D included (a square orthogonal matrix).
static_assert(check_shape<gram_schmidt<>, 96, 864>());
static_assert(check_shape<gram_schmidt<gs_form::cgs2>, 512, 512>());
static_assert(check_shape<cholesky_qr, 1, 1>());
// A penalty, or no constraint, accepts K > D: largeCNN's first layer, 96 filters of 3·3·3.
static_assert(check_shape<penalty<>, 96, 27>());
static_assert(check_shape<penalty<penalty_form::orthonormal>, 96, 27>());
static_assert(check_shape<none, 96, 27>());
// check_rows, a node's check: diag::ok for the same shapes (E024's diag::rows_exceed_fan_in
// comes only after its static_assert, so it cannot be tested here).
static_assert(check_rows<gram_schmidt<>, 96, 864>() == maso::diag::ok);
static_assert(check_rows<cholesky_qr, 27, 27>() == maso::diag::ok);
static_assert(check_rows<penalty<>, 96, 27>() == maso::diag::ok);
static_assert(check_rows<none, 96, 27>() == maso::diag::ok);

BOOST_AUTO_TEST_CASE(check_shape_is_usable_where_a_layer_checks_its_shape) {
    constexpr bool ok = check_shape<cholesky_qr, 192, 1728>();
    BOOST_CHECK(ok);
}
