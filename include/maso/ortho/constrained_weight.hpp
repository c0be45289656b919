// maso/ortho/constrained_weight.hpp — what a layer with weight W[K][D] and constraint Tag holds
// and does once per step: the tag's code path, chosen at compile time from ortho::traits<Tag>.
//
// dense and conv2d (layers/) keep one constrained_weight<Tag, T, K, D> and route their products
// through it:
//   weight(W)            the K×D matrix the layer computes with: W itself (none, penalty), or
//                        V = GS(W) / Q of W = L·Q (gram_schmidt, cholesky_qr)
//   weight_gradient(dW)  where the layer's backward writes ∂L/∂(that matrix): dW itself,
//                        accumulated (+=) as every parameter gradient is; or dV, a buffer of
//                        its own, overwritten (accumulate_gradient says which)
// and two hooks the model calls around a training step (train/layer_hooks.hpp):
//   prepare(W, training)       once before the forward pass. gram_schmidt / cholesky_qr: V from
//                              W, kept for the forward and the backward pass (the kernel keeps
//                              what its backward needs). penalty, in training: P(W) with its
//                              Gram matrix kept; returns λ·P(W), the term the model adds to the
//                              loss (0 otherwise, and in evaluation).
//   finish_backward(W, dW)     once after the backward pass. gram_schmidt / cholesky_qr:
//                              dW += (∂V/∂W)ᵀ·dV. penalty: dW += λ·∂P/∂W, from the Gram matrix
//                              of prepare (when prepare counted the term).
// Without a constraint (ortho::none) there is nothing to hold or do: the layer has no hooks.
//
// Everything is allocated by the constructor — the kernel's workspaces, V and dV — so a
// model's forward and backward allocate nothing. The kernels split their work over the pool's
// threads, bitwise the same at any thread count (ortho/penalty.hpp, gram_schmidt.hpp,
// cholesky_qr.hpp).
#pragma once

#include <maso/ortho/check_shape.hpp>
#include <maso/ortho/cholesky_qr.hpp>
#include <maso/ortho/gram_schmidt.hpp>
#include <maso/ortho/metrics.hpp>
#include <maso/ortho/penalty.hpp>
#include <maso/ortho/tags.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace maso::ortho {

namespace detail {
/// A value as a person writes it: "1", "0.5", "1e-06".
inline std::string short_value(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}
} // namespace detail

/// The tag as a user writes it, with λ for a penalty: "ortho::penalty<off_diagonal>(λ = 1)".
template <constraint Tag>
std::string tag_string(const Tag& tag) {
    if constexpr (traits<Tag>::adds_loss_term)
        return std::string(traits<Tag>::name()) + "(λ = " + detail::short_value(tag.lambda) + ")";
    else
        return traits<Tag>::name();
}

/// What a layer with weight W[K][D] does under Tag, in words, for describe(); empty for none.
template <constraint Tag>
std::string path_description(const Tag& tag, std::size_t K, std::size_t D) {
    const std::string w = "W[" + std::to_string(K) + "][" + std::to_string(D) + "]";
    if constexpr (std::is_same_v<Tag, none>) {
        return {};
    } else if constexpr (traits<Tag>::adds_loss_term) {
        return tag_string(tag) + " on " + w +
               ": before forward (training), G = W·Wᵀ (GEMM) and λ·P(W) added to the loss; "
               "after backward, dW += λ·∂P/∂W from the same G";
    } else {
        std::string how = "V = GS(W), CGS2, orthonormal rows";
        if constexpr (std::is_same_v<Tag, cholesky_qr>)
            how = "V = the Q of W = L·Q by CholeskyQR2 (GEMM), orthonormal rows";
        else if constexpr (Tag::form == gs_form::classical)
            how = "V = GS(W), classical Gram–Schmidt, unnormalised";
        return tag_string(tag) + " on " + w + ": before forward, " + how +
               ", kept for forward and backward; the products use it in place of W; after "
               "backward, dW += (∂V/∂W)ᵀ·dV";
    }
}

template <constraint Tag, class T, std::size_t K, std::size_t D, class Arch = xsimd::default_arch>
class constrained_weight;

/// No constraint: the layer computes with W and adds into dW.
template <class T, std::size_t K, std::size_t D, class Arch>
class constrained_weight<none, T, K, D, Arch> {
public:
    using tag_type = none;
    static constexpr std::size_t rows = K, cols = D;
    static constexpr bool active = false;
    static constexpr bool accumulate_gradient = true;

    constrained_weight(const none&, const std::string&) noexcept {}
    const T* weight(const T* w) const noexcept { return w; }
    T* weight_gradient(T* dw) const noexcept { return dw; }
    none tag() const noexcept { return {}; }
};

/// The penalty λ·P(W): the layer computes with W; the model's loss gets λ·P(W), dW gets λ·∂P/∂W.
template <penalty_form Form, class T, std::size_t K, std::size_t D, class Arch>
class constrained_weight<penalty<Form>, T, K, D, Arch> {
public:
    using tag_type = penalty<Form>;
    static constexpr std::size_t rows = K, cols = D;
    static constexpr bool active = true;
    static constexpr bool accumulate_gradient = true;

    /// `name` starts the messages (the layer's name). λ must be finite and non-negative.
    constrained_weight(const penalty<Form>& tag, const std::string& name)
        : kernel_(K, D, Form, name), name_(name) {
        set_lambda(tag.lambda);
    }

    const T* weight(const T* w) const noexcept { return w; }
    T* weight_gradient(T* dw) const noexcept { return dw; }

    double lambda() const noexcept { return lambda_; }
    /// Sets λ for the next steps (value_error if negative, NaN or infinite; λ unchanged then).
    void set_lambda(double lambda) {
        if (!(lambda >= 0) || !std::isfinite(lambda))
            throw value_error("maso: " + name_ + ": lambda = " + detail::format_value(lambda) +
                              " must be finite and non-negative");
        lambda_ = lambda;
    }
    penalty<Form> tag() const noexcept { return {lambda_}; }

    /// λ·P(W) in training with λ > 0, the Gram matrix kept for finish_backward; else 0.
    double prepare(std::span<const T> w, bool training) {
        counted_ = false;
        if (!training || lambda_ == 0) return 0;
        const double p = kernel_.value(w);
        counted_ = true;
        return lambda_ * p;
    }
    /// dW += λ·∂P/∂W at the W of prepare, if prepare counted the term.
    void finish_backward(std::span<const T> w, std::span<T> dw) {
        if (counted_) kernel_.add_gradient_at_value(w, dw, lambda_);
    }

    /// P(W) and max |cos| between W's rows (ortho/metrics.hpp), of the W given.
    double penalty_of(std::span<const T> w) { return penalty_value<T, Arch>(w, K, D, Form); }
    double defect_of(std::span<const T> w) { return orthogonality_defect<T, Arch>(w, K, D); }

private:
    penalty_kernel<T, Arch> kernel_;
    std::string name_;
    double lambda_ = 1.0;
    bool counted_ = false;
};

namespace detail {
/// The kernel of a reparametrising tag.
template <class Tag, class T, class Arch>
struct reparametrisation;
template <gs_form Form, class T, class Arch>
struct reparametrisation<gram_schmidt<Form>, T, Arch> {
    using type = gram_schmidt_kernel<T, Form, Arch>;
};
template <class T, class Arch>
struct reparametrisation<cholesky_qr, T, Arch> {
    using type = cholesky_qr_kernel<T, Arch>;
};

/// A reparametrisation: the layer computes with V, a function of W evaluated once per step,
/// and its backward goes through it.
template <class Tag, class T, std::size_t K, std::size_t D, class Arch>
class reparametrised_weight {
public:
    using tag_type = Tag;
    static constexpr std::size_t rows = K, cols = D;
    static constexpr bool active = true;
    /// The layer's backward writes dV, overwriting it; finish_backward adds into dW.
    static constexpr bool accumulate_gradient = false;

    reparametrised_weight(const Tag&, const std::string& name)
        : kernel_(K, D, name), v_(K * D), dv_(K * D) {}

    const T* weight(const T*) const noexcept { return v_.data(); }
    T* weight_gradient(T*) const noexcept { return dv_.data(); }
    Tag tag() const noexcept { return {}; }
    /// V as the last prepare computed it.
    std::span<const T> effective_weight() const noexcept { return v_; }

    /// V = GS(W) (or the Q of W = L·Q), for this step's forward and backward; returns 0 (no
    /// loss term), in training and evaluation alike.
    double prepare(std::span<const T> w, bool) {
        kernel_.forward(w, v_);
        return 0;
    }
    /// dW += (∂V/∂W)ᵀ·dV, at the W of the last prepare.
    void finish_backward(std::span<const T>, std::span<T> dw) { kernel_.backward(dv_, dw); }

    /// P-a of V, and max |cos| between V's rows: V = GS(W) of the W given (computed again, so
    /// that it is the current W's; not between a forward and its backward).
    double penalty_of(std::span<const T> w) {
        kernel_.forward(w, v_);
        return penalty_value<T, Arch>(v_, K, D, penalty_form::off_diagonal);
    }
    double defect_of(std::span<const T> w) {
        kernel_.forward(w, v_);
        return orthogonality_defect<T, Arch>(v_, K, D);
    }

private:
    typename reparametrisation<Tag, T, Arch>::type kernel_;
    std::vector<T> v_;
    mutable std::vector<T> dv_; ///< written by the layer's (const) backward
};
} // namespace detail

/// Gram–Schmidt: the layer computes with V = GS(W) (K ≤ D, E024).
template <gs_form Form, class T, std::size_t K, std::size_t D, class Arch>
class constrained_weight<gram_schmidt<Form>, T, K, D, Arch>
    : public detail::reparametrised_weight<gram_schmidt<Form>, T, K, D, Arch> {
    using detail::reparametrised_weight<gram_schmidt<Form>, T, K, D, Arch>::reparametrised_weight;
};

/// CholeskyQR2: the layer computes with the Q of W = L·Q (K ≤ D, E024).
template <class T, std::size_t K, std::size_t D, class Arch>
class constrained_weight<cholesky_qr, T, K, D, Arch>
    : public detail::reparametrised_weight<cholesky_qr, T, K, D, Arch> {
    using detail::reparametrised_weight<cholesky_qr, T, K, D, Arch>::reparametrised_weight;
};

} // namespace maso::ortho
