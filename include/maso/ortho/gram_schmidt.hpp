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
// Both forms are O(K²D) in vector operations (BLAS-2): each row j reads the j rows before it,
// twice (classical) or four times (cgs2) forward and three or four times backward. The dot
// products of a step are split over the pool's threads by rows and its vector updates by
// columns (ortho/detail/rows.hpp), so results are bitwise the same at any thread count. For
// large K·D, ortho::cholesky_qr does the same work in GEMMs.
//
// Numerics (§9.7): a row whose part orthogonal to the rows before it is below 4·√D·ε of its
// norm (ε of the type computed in) is a combination of them to working precision, and v_j or
// q_j would be rounding noise: numeric_error naming the row, rather than the authors'
// n_i + 1e-7, which changes the result for small rows. A non-finite weight is a numeric_error
// too. Nothing is allocated after construction.
#pragma once

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
        row_.resize(D_);
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
            w_[i] = static_cast<compute_type>(w[i]);
        for (std::size_t j = 0; j < K_; ++j) {
            if constexpr (Form == gs_form::classical)
                classical_row(j);
            else
                cgs2_row(j);
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
        for (std::size_t j = K_; j-- > 0;) {
            if constexpr (Form == gs_form::classical)
                classical_row_backward(j);
            else
                cgs2_row_backward(j);
            T* dwj = dw.data() + j * D_;
            for (std::size_t d = 0; d < D_; ++d)
                dwj[d] += static_cast<T>(row_[d]);
        }
    }

private:
    using C = compute_type;

    const C* w_row(std::size_t i) const { return w_.data() + i * D_; }
    C* v_row(std::size_t i) { return v_.data() + i * D_; }
    C* g_row(std::size_t i) { return grad_.data() + i * D_; }

    /// t_[i] = <v_i, x> for i < j (by rows).
    void dots_with_previous(std::size_t j, const C* x) {
        detail::parallel_rows(j, j * D_, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i)
                t_[i] = detail::dot<Arch>(v_.data() + i * D_, x, D_);
        });
    }

    /// x −= Σ_{i<j} a[i]·v_i (by columns; each element in i order).
    void subtract_previous(std::size_t j, const C* a, C* x) {
        detail::parallel_columns(D_, j * D_, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t i = 0; i < j; ++i)
                detail::axpy<Arch>(-a[i], v_.data() + i * D_ + c0, x + c0, c1 - c0);
        });
    }

    /// The refusal threshold on ‖what is left of w_j‖ / ‖w_j‖.
    C floor() const {
        return C(4) * std::sqrt(static_cast<C>(D_)) * std::numeric_limits<C>::epsilon();
    }

    void classical_row(std::size_t j) {
        const C* wj = w_row(j);
        C* vj = v_row(j);
        C* c = coef_.data() + j * K_;
        dots_with_previous(j, wj); // <v_i, w_j>: the original w_j (classical)
        for (std::size_t i = 0; i < j; ++i)
            c[i] = t_[i] / norms_[i];
        std::copy(wj, wj + D_, vj);
        subtract_previous(j, c, vj);
        const C n = detail::dot<Arch>(vj, vj, D_), wn = detail::dot<Arch>(wj, wj, D_);
        if (!(n > floor() * floor() * wn))
            detail::throw_dependent_row(j, wn > 0 ? std::sqrt(double(n) / double(wn)) : 0.0, name_);
        norms_[j] = n;
    }

    void cgs2_row(std::size_t j) {
        const C* wj = w_row(j);
        C* qj = v_row(j);
        C* l = coef_.data() + j * K_; // L_ji for i < j, then L_jj = r_j
        std::copy(wj, wj + D_, qj);
        for (int pass = 0; pass < 2; ++pass) {
            dots_with_previous(j, qj);
            subtract_previous(j, t_.data(), qj);
            for (std::size_t i = 0; i < j; ++i)
                l[i] = pass == 0 ? t_[i] : l[i] + t_[i];
        }
        const C r = std::sqrt(detail::dot<Arch>(qj, qj, D_));
        const C wn = std::sqrt(detail::dot<Arch>(wj, wj, D_));
        if (!(r > floor() * wn))
            detail::throw_dependent_row(j, wn > 0 ? double(r) / double(wn) : 0.0, name_);
        l[j] = r;
        detail::scale<Arch>(C(1) / r, qj, D_);
    }

    /// row_ = w̄_j; ḡ_i for i < j receive row j's contributions.
    void classical_row_backward(std::size_t j) {
        C* gj = g_row(j);
        const C* wj = w_row(j);
        const C* c = coef_.data() + j * K_;
        dots_with_previous(j, gj);
        for (std::size_t i = 0; i < j; ++i)
            t_[i] /= norms_[i];
        std::copy(gj, gj + D_, row_.data());
        subtract_previous(j, t_.data(), row_.data());
        detail::parallel_rows(j, 3 * j * D_, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                C* gi = g_row(i);
                detail::axpy<Arch>(-c[i], gj, gi, D_);
                detail::axpy<Arch>(-t_[i], wj, gi, D_);
                detail::axpy<Arch>(2 * t_[i] * c[i], v_.data() + i * D_, gi, D_);
            }
        });
    }

    void cgs2_row_backward(std::size_t j) {
        C* gj = g_row(j);
        const C* wj = w_row(j);
        const C* qj = v_row(j);
        const C* l = coef_.data() + j * K_;
        // ū_j, kept in grad_'s row j: ḡ_j is complete and not needed again.
        const C a = detail::dot<Arch>(gj, qj, D_);
        detail::axpy<Arch>(-a, qj, gj, D_);
        detail::scale<Arch>(C(1) / l[j], gj, D_);
        dots_with_previous(j, gj);
        std::copy(gj, gj + D_, row_.data());
        subtract_previous(j, t_.data(), row_.data());
        detail::parallel_rows(j, 2 * j * D_, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                C* gi = g_row(i);
                detail::axpy<Arch>(-l[i], gj, gi, D_);
                detail::axpy<Arch>(-t_[i], wj, gi, D_);
            }
        });
    }

    std::size_t K_, D_;
    std::string name_;
    std::vector<C> w_;     ///< W, in the compute type
    std::vector<C> v_;     ///< V (classical) or Q (cgs2)
    std::vector<C> grad_;  ///< ḡ (backward)
    std::vector<C> coef_;  ///< c_ij at [j·K + i] (classical); L_ji at [j·K + i] (cgs2)
    std::vector<C> norms_; ///< n_i = ‖v_i‖² (classical)
    std::vector<C> t_;     ///< a step's dot products
    std::vector<C> row_;   ///< w̄_j
    bool have_forward_ = false;
};

} // namespace maso::ortho
