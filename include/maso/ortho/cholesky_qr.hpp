// maso/ortho/cholesky_qr.hpp — the fast exact path, ortho::cholesky_qr: the Q of W = L·Q
// (K×D, K ≤ D; L lower triangular with a positive diagonal, Q with orthonormal rows) by
// CholeskyQR2, with its backward, on maso's GEMM. Beyond the paper, whose future work finds
// Gram–Schmidt "quite intense for very deep and wide DNNs".
//
// Q is unique given the sign convention (L_jj > 0): it is what gram_schmidt<gs_form::cgs2>
// computes row by row (ortho/gram_schmidt.hpp), here in matrix products.
//
//   forward (CholeskyQR2: Yamamoto, Nakatsukasa, Yanagisawa, Fukaya, ETNA 44, 2015)
//     G1 = W·Wᵀ = L1·L1ᵀ (Cholesky),  Q1 = L1⁻¹·W      the first pass
//     G2 = Q1·Q1ᵀ = L2·L2ᵀ,            Q = L2⁻¹·Q1      again: Q1 is orthogonal only to
//                                                        κ(W)·ε, Q to ε
//     so W = L·Q with L = L1·L2.
//   backward, from Q̄ = ∂L/∂Q (the QR derivative written for rows; derivation in
//   docs/orthogonality.md):
//     W̄ = L⁻ᵀ·(Q̄ − sym(Q̄·Qᵀ)·Q),  sym(B) = tril(B) + tril(B, −1)ᵀ,
//   applied as L⁻ᵀ = L1⁻ᵀ·L2⁻ᵀ (two back substitutions).
//
// Work, in products of K·K·D multiply-adds: forward G1 (in double, at about half the float
// rate) and G2, each only its lower block triangle (half a product for large K: Cholesky reads
// no more), and two triangular solves of half a product each; backward the lower half of
// Q̄·Qᵀ, sym(B)·Q and two half-product solves — all on the GEMM, against gram_schmidt's 2 to 4
// (forward) and 3 to 4 (backward) K·K·D in vector operations. The two Cholesky factorisations
// (K³/6 multiply-adds each, blocked on the GEMM, in double) are small for K ≪ D.
//
// Precision: one CholeskyQR pass needs G = W·Wᵀ to be positive definite to its rounding, which
// fails as κ(W)²·ε_gram approaches 1 (the Gram matrix squares the condition number). Formed
// in float, G1 made this kernel refuse float W from κ(W) ≈ 1e5 (test matrices of 200 × 300
// and 512 × 512 with singular values from 1 to 1e-5). So G1 is formed and factored in double
// (W converted once per step): κ(W) = 1e6 in float then gives rows orthogonal to ≈ 1e-7
// (measured; tests/ortho/cholesky_qr_test.cpp asks for §9.7's 1e-5). Q1 = L1⁻¹·W is orthogonal to
// κ(W)·ε_float, and the second pass, all in T but for its K×K Cholesky, brings Q to ε_float. Rows
// that are dependent to working precision are a numeric_error naming the row, as in gram_schmidt: a
// Cholesky pivot (the squared norm of what a row adds to the ones before it) below max((4√D·ε_T)²,
// 4·D·ε_gram) of the row's squared norm, the second term being how well a Gram matrix formed in
// ε_gram knows it. So in double the path takes rows independent to ≈ 2√D·1e-8 of their norm — κ(W)
// up to ≈ 10⁷, where CholeskyQR2 itself stops — while gram_schmidt<cgs2> goes to 4√D·ε.
//
// Threads and memory: every product and solve is split over the pool's threads, bitwise the
// same at any thread count (ortho/detail/triangular.hpp). Nothing is allocated after
// construction; the GEMM's packing buffers (float and double) are reserved then on every pool
// thread (a pool made larger afterwards allocates them for its new threads at first use).
#pragma once

#include <maso/kernels/gemm.hpp>
#include <maso/ortho/detail/rows.hpp>
#include <maso/ortho/detail/triangular.hpp>

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

template <class T, class Arch = xsimd::default_arch>
class cholesky_qr_kernel {
public:
    /// For W of `rows` × `cols` (rows ≤ cols, else value_error); `name` starts every message.
    cholesky_qr_kernel(std::size_t rows, std::size_t cols, std::string name = "ortho::cholesky_qr")
        : K_(rows), D_(cols), name_(std::move(name)) {
        detail::check_rows_fit(rows, cols, name_);
        if constexpr (!std::is_same_v<T, double>) wide_.resize(K_ * D_);
        gram_.resize(K_ * K_);
        diagonal_.resize(K_);
        panel_.resize(2 * K_ * detail::triangular_block);
        for (auto* f : {&first_, &second_}) {
            f->neg_l.resize(K_ * K_);
            f->inv_diag.resize(K_);
        }
        small_.resize(K_ * K_);
        q1_.resize(K_ * D_);
        q_.resize(K_ * D_);
        kernels::reserve_workspace<Arch, T>();
        kernels::reserve_workspace<Arch, double>();
    }

    std::size_t rows() const noexcept { return K_; }
    std::size_t cols() const noexcept { return D_; }

    /// q = the Q of W = L·Q: orthonormal rows, row j in the span of w_1..w_j with <q_j, w_j> > 0.
    void forward(std::span<const T> w, std::span<T> q) {
        have_forward_ = false;
        detail::check_size(K_ * D_, w.size(), name_, "the weight");
        detail::check_size(K_ * D_, q.size(), name_, "the output");
        detail::check_finite_weight(w, D_, name_);
        // G1 = W·Wᵀ in double.
        const double* wd = nullptr;
        if constexpr (std::is_same_v<T, double>) {
            wd = w.data();
        } else {
            std::copy(w.begin(), w.end(), wide_.begin());
            wd = wide_.data();
        }
        detail::lower_product_nt<Arch>(K_, D_, wd, D_, wd, D_, gram_.data(), K_, false);
        factor(first_, std::numeric_limits<double>::epsilon());
        std::copy(w.begin(), w.end(), q1_.begin());
        detail::solve_lower<Arch>(first_.neg_l.data(), first_.inv_diag.data(), q1_.data(), K_, D_);
        // G2 = Q1·Q1ᵀ in T, factored in double.
        detail::lower_product_nt<Arch>(K_, D_, q1_.data(), D_, q1_.data(), D_, small_.data(), K_,
                                       false);
        for (std::size_t i = 0; i < K_; ++i)
            for (std::size_t j = 0; j <= i; ++j)
                gram_[i * K_ + j] = small_[i * K_ + j];
        factor(second_, std::numeric_limits<T>::epsilon());
        std::copy(q1_.begin(), q1_.end(), q_.begin());
        detail::solve_lower<Arch>(second_.neg_l.data(), second_.inv_diag.data(), q_.data(), K_, D_);
        std::copy(q_.begin(), q_.end(), q.begin());
        have_forward_ = true;
    }

    /// dw += ∂L/∂W given dq = ∂L/∂Q, at the W of the last successful forward().
    void backward(std::span<const T> dq, std::span<T> dw) {
        if (!have_forward_)
            throw value_error("maso: " + name_ + ": backward() needs a successful forward() first");
        detail::check_size(K_ * D_, dq.size(), name_, "the output gradient");
        detail::check_size(K_ * D_, dw.size(), name_, "the gradient");
        // S = −sym(Q̄·Qᵀ), in place from the lower triangle of B = Q̄·Qᵀ, by tiles (a column of
        // a row-major K×K matrix at K = 1024 is a page per element).
        T* s = small_.data();
        detail::lower_product_nt<Arch>(K_, D_, dq.data(), D_, q_.data(), D_, s, K_, false);
        constexpr std::size_t tile = 32;
        for (std::size_t ib = 0; ib < K_; ib += tile)
            for (std::size_t jb = 0; jb <= ib; jb += tile)
                for (std::size_t i = ib; i < std::min(K_, ib + tile); ++i)
                    for (std::size_t j = jb; j < std::min(i, jb + tile); ++j)
                        s[j * K_ + i] = s[i * K_ + j] = -s[i * K_ + j];
        for (std::size_t i = 0; i < K_; ++i)
            s[i * K_ + i] = -s[i * K_ + i];
        // Y = Q̄ + S·Q, in q1_ (free after forward), then W̄ = L1⁻ᵀ·(L2⁻ᵀ·Y).
        T* y = q1_.data();
        std::copy(dq.begin(), dq.end(), y);
        kernels::gemm_nn<Arch>(K_, D_, K_, s, q_.data(), y, true);
        detail::solve_lower_t<Arch>(second_.neg_l.data(), second_.inv_diag.data(), y, K_, D_);
        detail::solve_lower_t<Arch>(first_.neg_l.data(), first_.inv_diag.data(), y, K_, D_);
        for (std::size_t i = 0; i < K_ * D_; ++i)
            dw[i] += y[i];
    }

private:
    /// One pass's factor, as the solves take it: −L (lower triangle) and 1/L_jj, in T.
    struct factor_t {
        std::vector<T> neg_l, inv_diag;
    };

    /// Cholesky of gram_ (double) into f, or numeric_error naming the dependent row. A pivot
    /// d_j is ‖what row j adds‖², known to about D·ε_gram·G_jj (ε of the type the Gram matrix
    /// was formed in); the floor is that, or gram_schmidt's (4√D·ε_T)² if larger.
    void factor(factor_t& f, double eps_gram) {
        const double d = static_cast<double>(D_), eps = std::numeric_limits<T>::epsilon();
        const double floor = std::max(16 * d * eps * eps, 4 * d * eps_gram);
        const detail::cholesky_result r =
            detail::cholesky_lower<Arch>(gram_.data(), K_, floor, diagonal_.data(), panel_.data());
        if (r.failed < K_) detail::throw_dependent_row(r.failed, r.relative, name_);
        for (std::size_t i = 0; i < K_; ++i) {
            for (std::size_t j = 0; j <= i; ++j)
                f.neg_l[i * K_ + j] = static_cast<T>(-gram_[i * K_ + j]);
            f.inv_diag[i] = static_cast<T>(1 / gram_[i * K_ + i]);
        }
    }

    std::size_t K_, D_;
    std::string name_;
    std::vector<double> wide_;     ///< W in double (T = float)
    std::vector<double> gram_;     ///< G1 or G2, factored in place
    std::vector<double> diagonal_; ///< Cholesky scratch
    std::vector<double> panel_;    ///< Cholesky scratch
    factor_t first_, second_;      ///< L1 and L2
    std::vector<T> small_;         ///< G2 (forward), S (backward)
    std::vector<T> q1_;            ///< Q1 (forward), Y and W̄ (backward)
    std::vector<T> q_;             ///< Q
    bool have_forward_ = false;
};

} // namespace maso::ortho
