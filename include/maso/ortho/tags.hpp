// maso/ortho/tags.hpp — how a layer keeps the rows of its weight W[K][D] orthogonal: the
// tags a layer takes as its type argument and the traits a planner reads from them.
//
// W is the layer's weight as every layer stores it: K rows (units, or filters), each of D
// entries (the fan-in: C_in·k·k for a convolution). paper-spec §5: with orthogonal rows,
// <W_k, W_k'> = 0 for k ≠ k' (condition (11)), a MASO layer computes the jointly optimal
// VQ of the factorial model (eq. 10; Theorem 4, Corollary 1).
//
//   none                      no constraint (the default)
//   penalty<Form>             adds λ·P(W) to the loss (ortho/penalty.hpp), with
//                               off_diagonal  P = (1/K²)‖WWᵀ − Diag(WWᵀ)‖²_F  (P-a, the default)
//                               orthonormal   P = ‖WWᵀ − I‖²_F                 (P-c)
//                             λ ≥ 0 is a run-time value per layer (`lambda`, default 1: the
//                             paper's choice), since clang++ 14 has no floating-point
//                             template arguments
//   gram_schmidt<Form>        the layer uses V = GS(W) in place of W (ortho/gram_schmidt.hpp):
//                               classical  the authors' unnormalised classical Gram–Schmidt
//                               cgs2       normalised, each row orthogonalised twice
//   cholesky_qr               the layer uses Q with W = L·Q (L lower triangular, positive
//                             diagonal, Q orthonormal rows) — the same Q as gram_schmidt<cgs2>
//                             — by CholeskyQR2 on maso's GEMM (ortho/cholesky_qr.hpp)
//
// Gram–Schmidt and CholeskyQR need K ≤ D (at most D vectors of R^D are orthogonal);
// ortho/check_shape.hpp turns K > D into error E024 at compile time.
//
// dense and conv2d take a tag as a type argument (dense<N, ortho::penalty<>>(),
// conv2d<Cout, K, ortho::gram_schmidt<>>()); ortho/constrained_weight.hpp is the code path each
// tag selects, and describe() prints it.
#pragma once

#include <concepts>

namespace maso::ortho {

/// Which penalty ortho::penalty adds (paper-spec §5).
enum class penalty_form {
    off_diagonal, ///< (P-a) (1/K²)‖G − Diag G‖²_F, G = WWᵀ: only condition (11), any row norms
    orthonormal, ///< (P-c) ‖G − I‖²_F: orthonormal rows, stronger than (11)
};

/// Which Gram–Schmidt ortho::gram_schmidt runs (paper-spec §5, §9.7).
enum class gs_form {
    classical, ///< v_j = w_j − Σ_{i<j} (<v_i, w_j>/n_i) v_i, n_i = ‖v_i‖²: the authors',
               ///< unnormalised
    cgs2,      ///< q_j = normalised w_j with its projection on q_1..q_{j−1} removed twice
};

/// No constraint.
struct none {};

/// Adds lambda·P(W) to the loss. The form is part of the type; lambda is the run-time weight
/// of this layer's term (ortho::penalty_kernel refuses a negative or non-finite one).
template <penalty_form Form = penalty_form::off_diagonal>
struct penalty {
    static constexpr penalty_form form = Form;
    double lambda = 1.0;
};

/// Reparametrises the weight: the layer computes with V = GS(W) and trains W.
template <gs_form Form = gs_form::classical>
struct gram_schmidt {
    static constexpr gs_form form = Form;
};

/// Reparametrises the weight: the layer computes with the Q of W = L·Q (orthonormal rows, the
/// output of gram_schmidt<gs_form::cgs2> up to rounding), by CholeskyQR2 on the GEMM.
struct cholesky_qr {};

/// What a planner needs to know about a tag, at compile time:
///   adds_loss_term   the layer adds a term to the loss and its gradient to dW
///   reparametrises   the layer computes with a function of W, evaluated once per step
///                    (forward), and its backward goes through that function
///   requires_k_le_d  the tag is impossible for K > D (check_shape.hpp raises E024)
///   name()           the tag as a user writes it, for describe() and messages
/// There is no traits<T> for a type that is not a tag: a mistake there fails to compile.
template <class Tag>
struct traits;

template <>
struct traits<none> {
    static constexpr bool adds_loss_term = false;
    static constexpr bool reparametrises = false;
    static constexpr bool requires_k_le_d = false;
    static constexpr const char* name() noexcept { return "ortho::none"; }
};

template <penalty_form Form>
struct traits<penalty<Form>> {
    static constexpr bool adds_loss_term = true;
    static constexpr bool reparametrises = false;
    // A penalty is a soft pull: with K > D it cannot reach 0, which is fine (paper-spec §5).
    static constexpr bool requires_k_le_d = false;
    static constexpr const char* name() noexcept {
        return Form == penalty_form::off_diagonal ? "ortho::penalty<off_diagonal>"
                                                  : "ortho::penalty<orthonormal>";
    }
};

template <gs_form Form>
struct traits<gram_schmidt<Form>> {
    static constexpr bool adds_loss_term = false;
    static constexpr bool reparametrises = true;
    static constexpr bool requires_k_le_d = true;
    static constexpr const char* name() noexcept {
        return Form == gs_form::classical ? "ortho::gram_schmidt<classical>"
                                          : "ortho::gram_schmidt<cgs2>";
    }
};

template <>
struct traits<cholesky_qr> {
    static constexpr bool adds_loss_term = false;
    static constexpr bool reparametrises = true;
    static constexpr bool requires_k_le_d = true;
    static constexpr const char* name() noexcept { return "ortho::cholesky_qr"; }
};

/// A type that is one of the tags above.
template <class Tag>
concept constraint = requires {
    { traits<Tag>::adds_loss_term } -> std::convertible_to<bool>;
    { traits<Tag>::reparametrises } -> std::convertible_to<bool>;
    { traits<Tag>::requires_k_le_d } -> std::convertible_to<bool>;
    traits<Tag>::name();
};

} // namespace maso::ortho
