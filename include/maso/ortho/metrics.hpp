// maso/ortho/metrics.hpp — what a training loop logs per constrained layer, from its weight
// W (K×D, row-major) alone:
//
//   orthogonality_defect(w, K, D)   max_{i≠j} |<w_i, w_j>| / (‖w_i‖·‖w_j‖): 0 when the rows
//                                   are orthogonal (condition (11)), 1 when two are parallel;
//                                   a zero row counts as orthogonal to every row. paper-spec
//                                   §9.7's test of an exact path is defect ≤ 1e-5 in float.
//   penalty_value(w, K, D, form)    P(W) of ortho::penalty<form> (ortho/penalty.hpp)
//
// Both take the K(K−1)/2 pairs' dot products directly (O(K²D), no Gram matrix), so they need
// no workspace and allocate nothing; the products are in T (vectorised) and the sums in
// double. They run on the pool's threads over a fixed partition of the pairs, so the results do
// not depend on the thread count. A non-finite weight is a numeric_error, as in the kernels.
#pragma once

#include <maso/ortho/detail/rows.hpp>
#include <maso/ortho/tags.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>

namespace maso::ortho {

namespace detail {

/// The fixed number of chunks the metrics cut the rows into (at most): each chunk keeps its own
/// partial result, and the chunks' results are combined in chunk order.
inline constexpr std::size_t metric_parts = 64;

/// Calls row(c, i) for every row i of K, i in chunk c: the chunks are fixed runs of row pairs
/// (p, K − 1 − p), which even out the rows of the triangle j < i. On the pool's threads when
/// the K²D/2 multiply-adds are worth it.
template <class Row>
void for_row_chunks(std::size_t K, std::size_t D, Row&& row) {
    const std::size_t pairs = (K + 1) / 2, parts = std::min(metric_parts, pairs);
    auto chunk = [&](std::size_t c) {
        for (std::size_t p = pairs * c / parts; p < pairs * (c + 1) / parts; ++p) {
            row(c, p);
            if (K - 1 - p != p) row(c, K - 1 - p);
        }
    };
    if (K * K * D / 2 < parallel_work || num_threads() == 1) {
        for (std::size_t c = 0; c < parts; ++c)
            chunk(c);
        return;
    }
    parallel_for(parts, [&](std::size_t b, std::size_t e, std::size_t) {
        for (std::size_t c = b; c < e; ++c)
            chunk(c);
    });
}

template <class T>
void check_metric_input(std::span<const T> w, std::size_t rows, std::size_t cols,
                        std::string_view name) {
    check_extents(rows, cols, name);
    check_size(rows * cols, w.size(), name, "the weight");
    check_finite_weight(w, cols, name);
}

} // namespace detail

/// max_{i≠j} |cos(w_i, w_j)| over the rows of W (rows × cols); 0 for a single row.
template <class T, class Arch = xsimd::default_arch>
double orthogonality_defect(std::span<const T> w, std::size_t rows, std::size_t cols) {
    detail::check_metric_input(w, rows, cols, "ortho::orthogonality_defect");
    std::array<double, detail::metric_parts> worst{};
    detail::for_row_chunks(rows, cols, [&](std::size_t c, std::size_t i) {
        const T* wi = w.data() + i * cols;
        const double ni = detail::dot<Arch>(wi, wi, cols);
        for (std::size_t j = 0; j < i; ++j) {
            const T* wj = w.data() + j * cols;
            const double nj = detail::dot<Arch>(wj, wj, cols);
            if (ni == 0 || nj == 0) continue;
            const double g = detail::dot<Arch>(wi, wj, cols);
            worst[c] = std::max(worst[c], std::fabs(g) / std::sqrt(ni * nj));
        }
    });
    return *std::max_element(worst.begin(), worst.end());
}

/// P(W) of ortho::penalty<form>: (1/K²) Σ_{i≠j} <w_i, w_j>² (off_diagonal) or
/// Σ_{i,j} (<w_i, w_j> − δ_ij)² (orthonormal).
template <class T, class Arch = xsimd::default_arch>
double penalty_value(std::span<const T> w, std::size_t rows, std::size_t cols,
                     penalty_form form = penalty_form::off_diagonal) {
    detail::check_metric_input(w, rows, cols, "ortho::penalty_value");
    std::array<double, detail::metric_parts> sums{};
    detail::for_row_chunks(rows, cols, [&](std::size_t c, std::size_t i) {
        const T* wi = w.data() + i * cols;
        double s = 0;
        for (std::size_t j = 0; j < i; ++j) {
            const double g = detail::dot<Arch>(wi, w.data() + j * cols, cols);
            s += 2 * g * g; // (i, j) and (j, i)
        }
        if (form == penalty_form::orthonormal) {
            const double d = static_cast<double>(detail::dot<Arch>(wi, wi, cols)) - 1;
            s += d * d;
        }
        sums[c] += s;
    });
    double p = 0;
    for (const double s : sums)
        p += s;
    const double k = static_cast<double>(rows);
    return form == penalty_form::off_diagonal ? p / (k * k) : p;
}

} // namespace maso::ortho
