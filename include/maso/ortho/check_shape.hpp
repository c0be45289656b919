// maso/ortho/check_shape.hpp — the compile-time rule of the exact paths: K ≤ D.
//
// A layer with weight W[K][D] and constraint Tag checks check_rows<Tag, K, D>() in its shape
// check (its node's check<In>(), which `>>` runs at the user's line: expr/chain.hpp): that
// raises the static_assert of check_shape<Tag, K, D>() and returns diag::rows_exceed_fan_in,
// so that the chain stops there without a second error. Gram–Schmidt and CholeskyQR make the K rows
// orthogonal, and R^D holds at most D orthogonal non-zero vectors: with K > D the rows after the
// D-th come out zero (classical GS then divides by n_j ≈ 0, paper-spec §5, §9.7). That is error
// E024 (docs/errors.md). The penalty has no such rule: it pulls towards (11) and may not
// reach it.
//
// K and D are template arguments of the function that holds the static_assert, so the
// compiler's "In instantiation of … [with Tag = …; K = 96; D = 27]" line shows them, and
// the failed condition is printed as (96 <= 27).
#pragma once

#include <maso/core/diagnostics.hpp>
#include <maso/ortho/tags.hpp>

#include <cstddef>

namespace maso::ortho {

/// True; raises E024 when Tag reparametrises W[K][D] into orthogonal rows and K > D.
template <constraint Tag, std::size_t K, std::size_t D>
consteval bool check_shape() {
    if constexpr (traits<Tag>::requires_k_le_d) {
        static_assert(
            K <= D, "maso E024: ortho::gram_schmidt and ortho::cholesky_qr need K <= D for W[K][D] "
                    "(K units or filters, D = fan-in, C_in*k*k for a convolution): R^D has at "
                    "most D orthogonal directions, so e.g. largeCNN's first layer (96 filters "
                    "of 3x3x3 = 27) cannot have orthogonal rows; use ortho::penalty<> for such "
                    "a layer");
    }
    return true;
}

/// diag::ok, or diag::rows_exceed_fan_in after E024's static_assert (check_shape).
template <constraint Tag, std::size_t K, std::size_t D>
consteval diag check_rows() {
    [[maybe_unused]] constexpr bool checked = check_shape<Tag, K, D>();
    return traits<Tag>::requires_k_le_d && K > D ? diag::rows_exceed_fan_in : diag::ok;
}

} // namespace maso::ortho
