// maso/ortho/gram_schmidt.hpp — the reparametrisation of ortho::gram_schmidt<Form>: the layer
// computes with V = GS(W) and trains W, so its backward goes from dL/dV to dL/dW through GS
// (paper-spec §5, §9.7). Rows w_1..w_K of W (K×D, row-major, K ≤ D), in row order.
//
// classical — the authors' form (SMASO utils.py::myortho): classical Gram–Schmidt, sequential
// in the row index, NOT normalised:
//
//   v_j = w_j − Σ_{i<j} c_ij v_i,   c_ij = <v_i, w_j>/n_i,   n_i = <v_i, v_i>
//
//   backward, with ḡ_j = ∂L/∂v_j, for j = K down to 1 (ḡ_j complete when row j is reached):
//     t_i   = <ḡ_j, v_i>/n_i                                          (i < j)
//     w̄_j   = ḡ_j − Σ_{i<j} t_i v_i          (ḡ_j projected away from v_1..v_{j−1})
//     ḡ_i  += −c_ij ḡ_j − t_i (w_j − 2 c_ij v_i)                      (i < j)
//
// Classical GS loses orthogonality as κ(W)²·ε (§9.7: "accumulate in float64"), so this form
// computes in double whatever T is — for float, ε = 1.1e-16 instead of 6e-8 — and rounds V to
// T at the end: float W gives exactly the float rounding of the double V.
//
// cgs2 — normalised, each row orthogonalised twice ("twice is enough": Giraud, Langou,
// Rozložník, Numer. Math. 101, 2005; the re-orthogonalisation of Daniel et al. 1976, which the
// paper cites), in T:
//
//   u = w_j;  twice: s = Q_{<j} u,  u −= Q_{<j}ᵀ s;   r_j = ‖u‖,  q_j = u / r_j
//
// In exact arithmetic the second pass removes nothing, so the map W → Q is the Q of W = L·Q
// (L lower triangular with L_jj = r_j > 0, L_ji = <q_i, w_j>), and so is its derivative: with
// q̄_j = ∂L/∂q_j, for j = K down to 1,
//     ū_j   = (q̄_j − <q̄_j, q_j> q_j)/r_j                 (through the normalisation)
//     t_i   = <q_i, ū_j>                                           (i < j)
//     w̄_j   = ū_j − Σ_{i<j} t_i q_i                        (through u_j = (I − Q_{<j}ᵀQ_{<j}) w_j)
//     q̄_i  += −L_ji ū_j − t_i w_j                                  (i < j)
// (the last line is ∂/∂q_i of −(q_iᵀ w_j) q_i against ū_j). ortho/cholesky_qr.hpp computes the
// same Q and derivative with matrix products; the tests check each against central
// differences and the two against each other.
//
// Both forms are O(K²D) in vector operations (BLAS-2). Forward, right-looking: once row j is
// final, every later row loses its projection on it (its dot product with the original w_r,
// as classical GS has it, then an update), in one pass over the later rows split between the
// threads by rows; cgs2's second pass on row j is left-looking (dot products with the rows
// before it, split by rows, then one update split by columns). Every row gets its updates in
// the same order as in the textbook loop, so V is that loop's, bit for bit. Backward, one
// pass per row over the rows before it, split by rows, and w̄_j = ḡ_j − Σ_{i<j} t_ji v_i for
// all j at the end as one product on the GEMM. No value is summed across threads, so results
// are bitwise the same at any thread count; each parallel pass is one hand-off, which is why
// there are as few as that (ortho/detail/rows.hpp). For large K·D, ortho::cholesky_qr does the
// work in GEMMs.
//
// Numerics (§9.7): a row whose part orthogonal to the rows before it is below 4·√D·ε of its
// norm (ε of the type computed in) is a combination of them to working precision, and v_j or
// q_j would be rounding noise: numeric_error naming the row, rather than the authors'
// n_i + 1e-7, which changes the result for small rows. A non-finite weight is a numeric_error
// too. Nothing is allocated after construction.
#pragma once

#include <maso/kernels/gemm.hpp>
#include <maso/ortho/detail/rows.hpp>
#include <maso/ortho/tags.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace maso::ortho {

template <class T, gs_form Form = gs_form::classical, class Arch = xsimd::default_arch>
class gram_schmidt_kernel {
public:
    /// The type the rows are computed in: double for the classical form, T for cgs2.
    using compute_type = std::conditional_t<Form == gs_form::classical, double, T>;

    /// For W of `rows` × `cols` (rows ≤ cols, else value_error); `name` starts every message.
    gram_schmidt_kernel(std::size_t rows, std::size_t cols,
                        std::string name = "ortho::gram_schmidt")
        : K_(rows), D_(cols), name_(std::move(name)) {
        detail::check_rows_fit(rows, cols, name_);
        w_.resize(K_ * D_);
        v_.resize(K_ * D_);
        grad_.resize(K_ * D_);
        coef_.resize(K_ * K_);
        norms_.resize(K_);
        t_.resize(K_);
        neg_t_.assign(K_ * K_, compute_type(0));
        kernels::reserve_workspace<Arch, compute_type>();
    }

    std::size_t rows() const noexcept { return K_; }
    std::size_t cols() const noexcept { return D_; }

    /// v = GS(W) (K×D): orthogonal rows (classical: v_1 = w_1, unnormalised; cgs2: unit rows).
    void forward(std::span<const T> w, std::span<T> v) {
        have_forward_ = false;
        detail::check_size(K_ * D_, w.size(), name_, "the weight");
        detail::check_size(K_ * D_, v.size(), name_, "the output");
        detail::check_finite_weight(w, D_, name_);
        for (std::size_t i = 0; i < K_ * D_; ++i)
            v_[i] = w_[i] = static_cast<compute_type>(w[i]);
        for (std::size_t j = 0; j < K_; ++j) {
            if constexpr (Form == gs_form::cgs2) second_pass(j);
            finish_row(j);
            project_later_rows(j);
        }
        for (std::size_t i = 0; i < K_ * D_; ++i)
            v[i] = static_cast<T>(v_[i]);
        have_forward_ = true;
    }

    /// dw += ∂L/∂W given dv = ∂L/∂V, at the W of the last successful forward().
    void backward(std::span<const T> dv, std::span<T> dw) {
        if (!have_forward_)
            throw value_error("maso: " + name_ + ": backward() needs a successful forward() first");
        detail::check_size(K_ * D_, dv.size(), name_, "the output gradient");
        detail::check_size(K_ * D_, dw.size(), name_, "the gradient");
        for (std::size_t i = 0; i < K_ * D_; ++i)
            grad_[i] = static_cast<compute_type>(dv[i]);
        for (std::size_t j = K_; j-- > 0;)
            row_backward(j);
        // W̄ = Ḡ − T·V: row j of grad_ holds ḡ_j (classical) or ū_j (cgs2), final once row j
        // was reached, and neg_t_ holds −t_ji below its diagonal and zeros elsewhere.
        kernels::gemm_nn<Arch>(K_, D_, K_, neg_t_.data(), v_.data(), grad_.data(), true);
        for (std::size_t i = 0; i < K_ * D_; ++i)
            dw[i] += static_cast<T>(grad_[i]);
    }

private:
    using C = compute_type;

    const C* w_row(std::size_t i) const { return w_.data() + i * D_; }
    C* v_row(std::size_t i) { return v_.data() + i * D_; }
    C* g_row(std::size_t i) { return grad_.data() + i * D_; }

    /// The refusal threshold on ‖what is left of w_j‖ / ‖w_j‖.
    C floor() const {
        return C(4) * std::sqrt(static_cast<C>(D_)) * std::numeric_limits<C>::epsilon();
    }

    /// Row j has had the projections on rows 0..j−1 removed (classical; cgs2's first pass):
    /// checks what is left and keeps n_j (classical) or normalises it (cgs2, L_jj = r_j).
    void finish_row(std::size_t j) {
        C* vj = v_row(j);
        const C* wj = w_row(j);
        const C n = detail::dot<Arch>(vj, vj, D_), wn = detail::dot<Arch>(wj, wj, D_);
        if (!(n > floor() * floor() * wn))
            detail::throw_dependent_row(j, wn > 0 ? std::sqrt(double(n) / double(wn)) : 0.0, name_);
        if constexpr (Form == gs_form::classical) {
            norms_[j] = n;
        } else {
            const C r = std::sqrt(n);
            coef_[j * K_ + j] = r;
            detail::scale<Arch>(C(1) / r, vj, D_);
        }
    }

    /// Right-looking: row j is final, so every later row j' loses its projection on it, with
    /// the coefficient from the original w_j' (classical GS; cgs2's first pass). One pass over
    /// the later rows, split between threads by rows; each row gets its updates in j order,
    /// exactly as if it had subtracted them itself.
    void project_later_rows(std::size_t j) {
        const C* vj = v_row(j);
        detail::parallel_rows(K_ - j - 1, 2 * (K_ - j - 1) * D_, [&](std::size_t b, std::size_t e) {
            for (std::size_t r = j + 1 + b; r < j + 1 + e; ++r) {
                C c = detail::dot<Arch>(vj, w_row(r), D_);
                if constexpr (Form == gs_form::classical) c /= norms_[j];
                coef_[r * K_ + j] = c; // c_jr (classical), the first pass's part of L_rj (cgs2)
                detail::axpy<Arch>(-c, vj, v_row(r), D_);
            }
        });
    }

    /// cgs2's second pass on row j, left-looking: s = Q_{<j}·u, u −= Q_{<j}ᵀ·s, L_ji += s_i.
    void second_pass(std::size_t j) {
        C* u = v_row(j);
        detail::parallel_rows(j, j * D_, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i)
                t_[i] = detail::dot<Arch>(v_row(i), u, D_);
        });
        detail::parallel_columns(D_, j * D_, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t i = 0; i < j; ++i)
                detail::axpy<Arch>(-t_[i], v_row(i) + c0, u + c0, c1 - c0);
        });
        for (std::size_t i = 0; i < j; ++i)
            coef_[j * K_ + i] += t_[i];
    }

    /// Row j of the backward: ḡ_j is complete. For cgs2 it becomes ū_j first. Then, in one
    /// pass over the rows i < j, split by rows: t_ji and row j's contributions to ḡ_i. The
    /// projection w̄_j = ḡ_j − Σ t_ji v_i is left to one product at the end.
    void row_backward(std::size_t j) {
        C* gj = g_row(j);
        const C* wj = w_row(j);
        const C* c = coef_.data() + j * K_;
        C* neg_t = neg_t_.data() + j * K_;
        if constexpr (Form == gs_form::cgs2) {
            const C* qj = v_row(j);
            detail::axpy<Arch>(-detail::dot<Arch>(gj, qj, D_), qj, gj, D_);
            detail::scale<Arch>(C(1) / c[j], gj, D_);
        }
        detail::parallel_rows(j, 3 * j * D_, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                C* gi = g_row(i);
                const C* vi = v_row(i);
                if constexpr (Form == gs_form::classical) {
                    const C t = detail::dot<Arch>(vi, gj, D_) / norms_[i];
                    neg_t[i] = -t;
                    detail::axpy<Arch>(-c[i], gj, gi, D_);
                    detail::axpy<Arch>(-t, wj, gi, D_);
                    detail::axpy<Arch>(2 * t * c[i], vi, gi, D_);
                } else {
                    const C t = detail::dot<Arch>(vi, gj, D_);
                    neg_t[i] = -t;
                    detail::axpy<Arch>(-c[i], gj, gi, D_);
                    detail::axpy<Arch>(-t, wj, gi, D_);
                }
            }
        });
    }

    std::size_t K_, D_;
    std::string name_;
    std::vector<C> w_;     ///< W, in the compute type
    std::vector<C> v_;     ///< V (classical) or Q (cgs2), being made in forward
    std::vector<C> grad_;  ///< ḡ (backward), then W̄
    std::vector<C> coef_;  ///< c_ij at [j·K + i] (classical); L_ji at [j·K + i] (cgs2)
    std::vector<C> norms_; ///< n_i = ‖v_i‖² (classical)
    std::vector<C> t_;     ///< cgs2's second-pass coefficients of a row
    std::vector<C> neg_t_; ///< −t_ji at [j·K + i] for i < j, 0 elsewhere (backward)
    bool have_forward_ = false;
};

} // namespace maso::ortho
