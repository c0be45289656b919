// maso/ortho/detail/triangular.hpp — internal to ortho/cholesky_qr.hpp: a blocked Cholesky
// factorisation and blocked triangular solves, with maso's GEMM doing the bulk of the work.
//
//   lower_product_nt the lower block triangle of A·Bᵀ (a Gram matrix, half the product)
//   cholesky_lower   G = L·Lᵀ in place (G symmetric positive definite, K×K, row-major)
//   solve_lower      B := L⁻¹·B      (B: K×N, row-major; forward substitution)
//   solve_lower_t    B := L⁻ᵀ·B      (back substitution with Lᵀ)
//
// All go by blocks of triangular_block rows. The off-diagonal part of each block is GEMMs
// (kernels/gemm.hpp: C += A·B, so the solves take −L, negated once by the caller); the rest
// is small substitutions: in the Cholesky, dot products within the diagonal block and, for the
// panel below it, updates of whole rows of its transpose; in the solves, updates of whole rows
// of B. Row updates are split between threads by columns. Every element is computed by one
// thread in an order that does not depend on the thread count, so the results are bitwise the
// same at any count (ortho/detail/rows.hpp).
//
// Why blocked: the unblocked forms read the whole triangle once per row or column, K³/6 loads
// from L3 for K = 1024 (≈ 8 MiB of double); by blocks, all but the diagonal blocks' K²·block/4
// multiply-adds run in the GEMM's register tiles.
#pragma once

#include <maso/kernels/gemm.hpp>
#include <maso/ortho/detail/rows.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace maso::ortho::detail {

/// Rows per block: 16 register tiles of the GEMM (MR = 6).
inline constexpr std::size_t triangular_block = 96;

/// C (+)= A·Bᵀ on the block rows [rb, re) of `triangular_block` rows and the columns [0, re)
/// only — the lower triangle and the diagonal blocks, about half of the product for large M —
/// where A and B are M×k (rows of lda, ldb elements) and C is M×M (ldc). What lies right of
/// the diagonal blocks is not written. For G = W·Wᵀ, whose upper triangle Cholesky never
/// reads, and for B = Q̄·Qᵀ, of which the backward uses only the lower triangle.
template <class Arch, class U>
void lower_product_nt(std::size_t M, std::size_t k, const U* a, std::size_t lda, const U* b,
                      std::size_t ldb, U* c, std::size_t ldc, bool accumulate) {
    for (std::size_t rb = 0; rb < M; rb += triangular_block) {
        const std::size_t re = std::min(M, rb + triangular_block);
        kernels::gemm<Arch>(re - rb, re, k, kernels::strided<U>{a + rb * lda, lda, 1},
                            kernels::matrix_b<U>{{b, 1, ldb}}, c + rb * ldc, ldc, accumulate);
    }
}

/// The outcome of cholesky_lower: `failed` = K on success, else the first row whose pivot
/// d_j (the squared norm of what row j adds to the rows before it) was not finite or not
/// above rel_floor·G_jj; `relative` = √(d_j / G_jj) for that row.
struct cholesky_result {
    std::size_t failed;
    double relative;
};

/// In place: the lower triangle of g (K×K, row-major, symmetric positive definite) becomes L
/// with G = L·Lᵀ and a positive diagonal, and its strict upper triangle becomes 0. Only the
/// lower triangle of G is read.
/// `diagonal` (K) and `panel` (2·K·triangular_block) are scratch. On failure g is garbage.
template <class Arch>
cholesky_result cholesky_lower(double* g, std::size_t K, double rel_floor, double* diagonal,
                               double* panel) {
    for (std::size_t j = 0; j < K; ++j)
        diagonal[j] = g[j * K + j];
    for (std::size_t kb = 0; kb < K; kb += triangular_block) {
        const std::size_t e = std::min(K, kb + triangular_block), n = e - kb;
        // The diagonal block, whose earlier columns the trailing updates have removed.
        for (std::size_t j = kb; j < e; ++j) {
            double* lj = g + j * K + kb;
            const double d = g[j * K + j] - dot<Arch>(lj, lj, j - kb);
            if (!(d > rel_floor * diagonal[j]) || !std::isfinite(d))
                return {j, diagonal[j] > 0 ? std::sqrt(std::fabs(d) / diagonal[j]) : 0.0};
            const double ljj = std::sqrt(d);
            g[j * K + j] = ljj;
            for (std::size_t i = j + 1; i < e; ++i) {
                double* li = g + i * K + kb;
                li[j - kb] = (li[j - kb] - dot<Arch>(li, lj, j - kb)) / ljj;
            }
        }
        if (e == K) break;
        // The panel below it, L21 = A21·L11⁻ᵀ, solved as L21ᵀ = L11⁻¹·A21ᵀ: a forward
        // substitution whose updates run along rows of K − e values, rather than one short dot
        // product (≤ 96 values, and a horizontal sum) per entry of the panel.
        const std::size_t m = K - e;
        double* t = panel + m * n; // A21ᵀ, n × m
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t c = 0; c < n; ++c)
                t[c * m + i] = g[(e + i) * K + kb + c];
        parallel_columns(m, m * n * n / 2, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t r = 0; r < n; ++r) {
                const double* lr = g + (kb + r) * K + kb;
                for (std::size_t c = 0; c < r; ++c)
                    axpy<Arch>(-lr[c], t + c * m + c0, t + r * m + c0, c1 - c0);
                scale<Arch>(1 / lr[r], t + r * m + c0, c1 - c0);
            }
        });
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t c = 0; c < n; ++c) {
                g[(e + i) * K + kb + c] = t[c * m + i];
                panel[i * n + c] = -t[c * m + i];
            }
        // The trailing matrix: A22 −= L21·L21ᵀ, its lower block triangle (the rest is not read).
        lower_product_nt<Arch>(K - e, n, panel, n, g + e * K + kb, K, g + e * K + e, K, true);
    }
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t j = i + 1; j < K; ++j)
            g[i * K + j] = 0;
    return {K, 0};
}

/// B := L⁻¹·B in place, given neg_l = −L (K×K, row-major; only its lower triangle is read)
/// and inv_diag[r] = 1/L_rr. B is K×N, row-major.
template <class Arch, class U>
void solve_lower(const U* neg_l, const U* inv_diag, U* b, std::size_t K, std::size_t N) {
    for (std::size_t kb = 0; kb < K; kb += triangular_block) {
        const std::size_t e = std::min(K, kb + triangular_block), n = e - kb;
        if (kb > 0) // B1 += (−L10)·B0
            kernels::gemm<Arch>(n, N, kb, kernels::strided<U>{neg_l + kb * K, K, 1},
                                kernels::matrix_b<U>{{b, N, 1}}, b + kb * N, N, true);
        parallel_columns(N, n * n * N / 2, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t r = kb; r < e; ++r) {
                U* br = b + r * N + c0;
                for (std::size_t c = kb; c < r; ++c)
                    axpy<Arch>(neg_l[r * K + c], b + c * N + c0, br, c1 - c0);
                scale<Arch>(inv_diag[r], br, c1 - c0);
            }
        });
    }
}

/// B := L⁻ᵀ·B in place (back substitution with the upper triangular Lᵀ), given neg_l = −L
/// and inv_diag as for solve_lower.
template <class Arch, class U>
void solve_lower_t(const U* neg_l, const U* inv_diag, U* b, std::size_t K, std::size_t N) {
    const std::size_t blocks = (K + triangular_block - 1) / triangular_block;
    for (std::size_t blk = blocks; blk-- > 0;) {
        const std::size_t kb = blk * triangular_block, e = std::min(K, kb + triangular_block);
        const std::size_t n = e - kb;
        if (e < K) // B1 += (−L21)ᵀ·B2: op(A)(i, k) = −L[e + k][kb + i]
            kernels::gemm<Arch>(n, N, K - e, kernels::strided<U>{neg_l + e * K + kb, 1, K},
                                kernels::matrix_b<U>{{b + e * N, N, 1}}, b + kb * N, N, true);
        parallel_columns(N, n * n * N / 2, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t r = e; r-- > kb;) {
                U* br = b + r * N + c0;
                for (std::size_t c = r + 1; c < e; ++c)
                    axpy<Arch>(neg_l[c * K + r], b + c * N + c0, br, c1 - c0);
                scale<Arch>(inv_diag[r], br, c1 - c0);
            }
        });
    }
}

} // namespace maso::ortho::detail
