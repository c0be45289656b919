// maso/layers/dense.hpp — dense<N>(): the fully connected affine map y = W x + b.
//
// W is N × D (D = the input's size), one row per output unit; b has N entries.
// In maso's channel-major layout the input is X[D][batch] and the output
// Y[N][batch], so forward is one GEMM and backward two (kernels/gemm.hpp):
//   Y = W X + b,   dW += dY Xᵀ,   db += Σ_batch dY,   dX = Wᵀ dY.
// As a contraction it heads a fused group: the planner runs forward_affine with
// the group's bias, batch-norm apply, units and channel window (maxout) as the
// epilogue of the GEMM's register tiles (plan/tiles.hpp), as for a convolution.
//
// An orthogonality constraint on W's rows (paper-spec §5) is a type argument,
// dense<N, ortho::penalty<>>(), dense<N, ortho::gram_schmidt<>>(), …: the layer
// computes with the matrix ortho::constrained_weight gives (W, or V = GS(W)) and
// has its prepare / finish_backward hooks (ortho/constrained_weight.hpp).
#pragma once

#include <maso/core/profile.hpp>
#include <maso/core/tensor_slot.hpp>
#include <maso/core/weight_init.hpp>
#include <maso/expr/chain.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/layers/bias.hpp>
#include <maso/ortho/check_shape.hpp>
#include <maso/ortho/constrained_weight.hpp>
#include <maso/ortho/tags.hpp>

#include <string>
#include <type_traits>
#include <vector>

namespace maso {

template <std::size_t N, bool Bias = true, ortho::constraint Ortho = ortho::none>
struct dense_node {
    static constexpr node_kind kind = node_kind::contraction;
    static constexpr std::size_t units = N;
    using constraint_type = Ortho;

    /// The constraint's run-time part (a penalty's λ).
    [[no_unique_address]] Ortho orthogonality{};

    static std::string name(const dense_node&) {
        return "dense<" + std::to_string(N) + (Bias ? "" : ", no bias") +
               (std::is_same_v<Ortho, ortho::none>
                    ? std::string()
                    : std::string(", ") + ortho::traits<Ortho>::name()) +
               ">";
    }
    /// What the constraint does, for describe() (empty without one).
    template <class In>
    static std::string constraint_path(const dense_node& n) {
        return ortho::path_description(n.orthogonality, N, In::size);
    }
    template <class In>
    static consteval diag check() {
        if constexpr (N == 0)
            return diag::zero_extent;
        else if constexpr (!In::is_vector)
            return diag::dense_needs_vector;
        else
            return ortho::check_rows<Ortho, N, In::size>(); // E024
    }
    template <class In>
    using output_shape = shape<N>;
    /// The network's input as given, [batch][D]: the products read it as a transposed
    /// operand, and the edge needs no transposition pass (expr/node.hpp).
    static constexpr edge_layout input_edge = edge_layout::images;

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_state {
        using arch = Arch;
        using output = shape<N>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t D = In::size;
        static constexpr bool has_bias = Bias;

        explicit layer(const dense_node& n) : constraint_(n.orthogonality, name(n)) {}
        std::size_t parameter_count() const { return N * D + (Bias ? N : 0); }

        /// The constraint's hooks (ortho/constrained_weight.hpp), which the model calls once
        /// per step: before forward (returns the term added to the loss) and after backward.
        double prepare(const io& io) requires(!std::is_same_v<Ortho, ortho::none>) {
            // A loss term counts in training, when forward computes a loss (io.loss).
            return constraint_.prepare(io.params.first(N * D),
                                       io.phase == mode::training && io.loss != nullptr);
        }
        void finish_backward(const io& io) requires(!std::is_same_v<Ortho, ortho::none>) {
            constraint_.finish_backward(io.params.first(N * D), io.grads.first(N * D));
        }
        auto& constraint() noexcept { return constraint_; }
        const auto& constraint() const noexcept { return constraint_; }

        void initialize(std::span<T> params, init_context& ctx) const {
            init_weights(params.first(N * D), N, D, D, N, ctx);
            for (auto& b : params.subspan(N * D))
                b = T(0);
        }

        /// W as {N, D} (row n: unit n's weights), then b.
        std::vector<tensor_slot> tensors() const {
            std::vector<tensor_slot> t{{"weight", parameter_kind::weight, 0, {N, D}}};
            if constexpr (Bias) t.push_back({"bias", parameter_kind::bias, N * D, {N}});
            return t;
        }

        /// Columns of z per unit: one per image (a dense layer has only the natural
        /// order; the argument mirrors conv2d's, so that the planner asks both alike).
        static constexpr std::size_t columns(std::size_t batch, kernels::patch_order = {}) {
            return batch;
        }

        /// z = W x, without the bias. With an epilogue, the finished tiles go to it
        /// (kernels/gemm.hpp) and z receives only partial sums. A batch narrower than
        /// two tiles is shared between the threads by rows (units), as by columns one
        /// thread would take it all.
        template <class Epi = kernels::no_epilogue>
        void forward_affine(const io& io, kernels::patch_order = {}, const Epi& epi = {}) const {
            const std::size_t n = io.x.batch;
            const auto split =
                n < 2 * blocking::NR ? kernels::gemm_split::rows : kernels::gemm_split::columns;
            // x[d][n], or x_edge[n][d]: element (d, n) of the product's B either way.
            const kernels::matrix_b<T> x =
                io.x_edge ? kernels::matrix_b<T>{{io.x_edge, 1, D}}
                          : kernels::matrix_b<T>{{io.x.data, n, 1}};
            kernels::gemm<arch>(N, n, D, kernels::strided<T>{weight(io), D, 1}, x, io.y.data, n,
                                false, epi, split);
        }
        /// dW += dz xᵀ and dx = Wᵀ dz; the bias gradient is the bias op's. Under a
        /// reparametrisation W is V and dW is dV, overwritten (ortho/constrained_weight.hpp).
        void backward_affine(const io& io, kernels::patch_order = {}) const {
            T* const dw = constraint_.weight_gradient(io.grads.data());
            constexpr bool add = constraint_t::accumulate_gradient;
            {
                MASO_RUN_PROFILE_PART("dW", product_flop(io.x.batch));
                if (io.x_edge) // xᵀ is x_edge itself
                    kernels::gemm_nn<arch>(N, D, io.x.batch, io.dy.data, io.x_edge, dw, add);
                else
                    kernels::gemm_nt<arch>(N, D, io.x.batch, io.dy.data, io.x.data, dw, add);
            }
            if (io.dx.data) {
                MASO_RUN_PROFILE_PART("dX", product_flop(io.x.batch));
                kernels::gemm_tn<arch>(D, io.x.batch, N, weight(io), io.dy.data, io.dx.data,
                                       false);
            }
        }
        bias_op<T> bias(const io& io, std::size_t c) const {
            return {io.params[N * D + c], io.grads.data() + N * D + c};
        }

        /// FLOP of one of its products (z = W·x, dW or dX) for a batch: 2·N·D per image.
        static constexpr double product_flop(std::size_t batch) {
            return 2.0 * double(N) * double(D) * double(batch);
        }

        /// z = W x, then the bias in one pass per unit (layers/bias.hpp).
        void forward(const io& io) const {
            forward_affine(io);
            if constexpr (Bias)
                detail::add_bias<Arch>(io.params.data() + N * D, io.y.data, N, io.y.batch, io.y.batch);
        }
        void backward(const io& io) const {
            if constexpr (Bias)
                detail::add_bias_gradient<Arch>(io.dy.data, io.grads.data() + N * D, N, io.dy.batch,
                                          io.dy.batch);
            backward_affine(io);
        }

    private:
        using blocking = kernels::gemm_blocking<arch, T>;
        using constraint_t = ortho::constrained_weight<Ortho, T, N, D, arch>;

        /// The N×D matrix the products use: W, or V = GS(W) of this step.
        const T* weight(const io& io) const { return constraint_.weight(io.params.data()); }

        constraint_t constraint_;
    };
};

/// A fully connected layer of N units (with a bias unless Bias is false).
template <std::size_t N, bool Bias = true>
constexpr dense_node<N, Bias> dense() {
    return {};
}

/// The same with an orthogonality constraint on W's rows (ortho/tags.hpp), given as a value
/// for its run-time part: dense<10, ortho::penalty<>>({.lambda = 0.1}).
template <std::size_t N, ortho::constraint Ortho, bool Bias = true>
constexpr dense_node<N, Bias, Ortho> dense(Ortho orthogonality = {}) {
    return {orthogonality};
}

} // namespace maso
