// maso/ortho/penalty.hpp — the orthogonality penalty of ortho::penalty<Form>: its value and
// its gradient, added into a layer's weight gradient (paper-spec §5, §9.8).
//
// W is K×D, row-major (a layer's weight: K units or filters, D = fan-in). With G = W·Wᵀ:
//
//   off_diagonal (P-a, default)  P = (1/K²) Σ_{i≠j} G_ij² = (1/K²)‖G − Diag G‖²_F
//                                ∂P/∂W = (4/K²)(G − Diag G)·W
//   orthonormal  (P-c)           P = ‖G − I‖²_F
//                                ∂P/∂W = 4 (G − I)·W
//
// (dP = 2⟨G − X, dG⟩ with dG = dW·Wᵀ + W·dWᵀ and G − X symmetric, so dP = 4⟨(G − X)W, dW⟩.)
// P-a asks only for condition (11), <W_k, W_k'> = 0, and is the paper's Table 2 penalty as
// reconstructed (the 1/K² makes it the mean over the K² entries, so that λ = 1 — the paper's
// value — means the same for every layer). P-c also asks for unit rows, which (11) does not
// need; it is the plain sum, as written. With K > D neither can reach 0, which a penalty
// allows (largeCNN's first layer: 96 filters of 27 entries).
//
// A layer (ortho/constrained_weight.hpp) calls value(W) before its forward pass and
// add_gradient_at_value(W, dW, λ) after its backward pass: G is formed once per step.
//
// Cost: two products of K·K·D multiply-adds on maso's GEMM — G = W·Wᵀ (gemm_nt) and the
// gradient (gemm_nn, accumulated straight into the caller's buffer) — both split over the
// pool's threads and bitwise the same at any thread count, as is the value (row sums in
// double, added in row order). Nothing is allocated after construction: G and the row sums
// are sized then, and so is the GEMM's packing buffer on every pool thread
// (kernels::reserve_workspace; a pool made larger afterwards allocates it for its new threads
// at their first product).
#pragma once

#include <maso/kernels/gemm.hpp>
#include <maso/ortho/detail/rows.hpp>
#include <maso/ortho/tags.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace maso::ortho {

template <class T, class Arch = xsimd::default_arch>
class penalty_kernel {
public:
    /// For W of `rows` × `cols`; `name` starts every error message (a layer passes its own).
    penalty_kernel(std::size_t rows, std::size_t cols,
                   penalty_form form = penalty_form::off_diagonal,
                   std::string name = "ortho::penalty")
        : rows_(rows), cols_(cols), form_(form), name_(std::move(name)) {
        detail::check_extents(rows, cols, name_);
        gram_.resize(rows * rows);
        scaled_.resize(rows * rows);
        row_sums_.resize(rows);
        kernels::reserve_workspace<Arch, T>();
    }

    std::size_t rows() const noexcept { return rows_; }
    std::size_t cols() const noexcept { return cols_; }
    penalty_form form() const noexcept { return form_; }

    /// P(W).
    double value(std::span<const T> w) {
        have_value_ = false;
        check(w);
        return gram_and_value(w);
    }

    /// grad += λ·∂P/∂W, and returns P(W) (the loss term is λ·P(W)). λ must be finite and
    /// non-negative; λ = 0 leaves grad as it is.
    double add_gradient(std::span<const T> w, std::span<T> grad, double lambda = 1.0) {
        check_lambda(lambda);
        check(w);
        detail::check_size(rows_ * cols_, grad.size(), name_, "the gradient");
        const double p = gram_and_value(w);
        if (lambda != 0) add_scaled_product(w, grad, lambda);
        return p;
    }

    /// grad += λ·∂P/∂W at the W of the last value(w) — which the caller passes again, unchanged —
    /// from the Gram matrix value() kept: one product of K·K·D instead of two. A layer calls
    /// value() before its forward pass and this after its backward pass, so that the Gram
    /// matrix is formed once per step; it may be called again (a second backward of the same
    /// forward adds the gradient again).
    void add_gradient_at_value(std::span<const T> w, std::span<T> grad, double lambda = 1.0) {
        check_lambda(lambda);
        if (!have_value_)
            throw value_error("maso: " + name_ +
                              ": add_gradient_at_value() needs a successful value() first");
        detail::check_size(rows_ * cols_, w.size(), name_, "the weight");
        detail::check_size(rows_ * cols_, grad.size(), name_, "the gradient");
        if (lambda != 0) add_scaled_product(w, grad, lambda);
    }

private:
    void check(std::span<const T> w) const {
        detail::check_size(rows_ * cols_, w.size(), name_, "the weight");
        detail::check_finite_weight(w, cols_, name_);
    }

    void check_lambda(double lambda) const {
        if (!(lambda >= 0) || !std::isfinite(lambda))
            throw value_error("maso: " + name_ + ": lambda = " + detail::format_value(lambda) +
                              " must be finite and non-negative");
    }

    /// grad += s·(G − X)·W with s = 4λ/K² (off_diagonal) or 4λ (orthonormal); gram_ is kept.
    void add_scaled_product(std::span<const T> w, std::span<T> grad, double lambda) {
        const double k = static_cast<double>(rows_);
        const T s =
            static_cast<T>(form_ == penalty_form::off_diagonal ? 4 * lambda / (k * k) : 4 * lambda);
        for (std::size_t i = 0; i < gram_.size(); ++i)
            scaled_[i] = s * gram_[i];
        kernels::gemm_nn<Arch>(rows_, cols_, rows_, scaled_.data(), w.data(), grad.data(), true);
    }

    /// gram_ = G − X (X = Diag G or I), and returns P from it.
    double gram_and_value(std::span<const T> w) {
        have_value_ = false;
        const std::size_t K = rows_;
        kernels::gemm_nt<Arch>(K, K, cols_, w.data(), w.data(), gram_.data(), false);
        for (std::size_t i = 0; i < K; ++i)
            gram_[i * K + i] = form_ == penalty_form::off_diagonal ? T(0) : gram_[i * K + i] - T(1);
        detail::parallel_rows(K, K * K, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                double s = 0;
                for (std::size_t j = 0; j < K; ++j) {
                    const double g = gram_[i * K + j];
                    s += g * g;
                }
                row_sums_[i] = s;
            }
        });
        double p = 0;
        for (std::size_t i = 0; i < K; ++i)
            p += row_sums_[i];
        have_value_ = true;
        return form_ == penalty_form::off_diagonal ? p / (static_cast<double>(K) * K) : p;
    }

    std::size_t rows_, cols_;
    penalty_form form_;
    std::string name_;
    std::vector<T> gram_;   ///< G − X of the last value
    std::vector<T> scaled_; ///< s·(G − X), the gradient's left operand
    std::vector<double> row_sums_;
    bool have_value_ = false;
};

} // namespace maso::ortho
