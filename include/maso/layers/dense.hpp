// maso/layers/dense.hpp — dense<N>(): the fully connected affine map y = W x + b.
//
// W is N × D (D = the input's size), one row per output unit; b has N entries.
// In maso's channel-major layout the input is X[D][batch] and the output
// Y[N][batch], so forward is one GEMM and backward two (kernels/gemm.hpp):
//   Y = W X + b,   dW += dY Xᵀ,   db += Σ_batch dY,   dX = Wᵀ dY.
// As a contraction it heads a fused group: the planner runs forward_affine with
// the group's bias, batch-norm apply, units and channel window (maxout) as the
// epilogue of the GEMM's register tiles (plan/tiles.hpp), as for a convolution.
#pragma once

#include <maso/core/tensor_slot.hpp>
#include <maso/core/weight_init.hpp>
#include <maso/expr/chain.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/layers/bias.hpp>

#include <string>
#include <vector>

namespace maso {

template <std::size_t N, bool Bias = true>
struct dense_node {
    static constexpr node_kind kind = node_kind::contraction;
    static constexpr std::size_t units = N;

    static std::string name(const dense_node&) {
        return "dense<" + std::to_string(N) + (Bias ? "" : ", no bias") + ">";
    }
    template <class In>
    static consteval diag check() {
        if (N == 0) return diag::zero_extent;
        if (!In::is_vector) return diag::dense_needs_vector;
        return diag::ok;
    }
    template <class In>
    using output_shape = shape<N>;
    /// The network's input as given, [batch][D]: the products read it as a transposed
    /// operand, and the edge needs no transposition pass (expr/node.hpp).
    static constexpr edge_layout input_edge = edge_layout::images;

    template <class In, class T>
    struct layer : no_state {
        using output = shape<N>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t D = In::size;
        static constexpr bool has_bias = Bias;

        explicit layer(const dense_node&) {}
        std::size_t parameter_count() const { return N * D + (Bias ? N : 0); }

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
            kernels::gemm<arch>(N, n, D, kernels::strided<T>{io.params.data(), D, 1}, x,
                                io.y.data, n, false, epi, split);
        }
        /// dW += dz xᵀ and dx = Wᵀ dz; the bias gradient is the bias op's.
        void backward_affine(const io& io, kernels::patch_order = {}) const {
            if (io.x_edge) // xᵀ is x_edge itself
                kernels::gemm_nn<arch>(N, D, io.x.batch, io.dy.data, io.x_edge, io.grads.data(),
                                       true);
            else
                kernels::gemm_nt<arch>(N, D, io.x.batch, io.dy.data, io.x.data, io.grads.data(),
                                       true);
            if (io.dx.data)
                kernels::gemm_tn<arch>(D, io.x.batch, N, io.params.data(), io.dy.data, io.dx.data,
                                       false);
        }
        bias_op<T> bias(const io& io, std::size_t c) const {
            return {io.params[N * D + c], io.grads.data() + N * D + c};
        }

        /// z = W x, then the bias in one pass per unit (layers/bias.hpp).
        void forward(const io& io) const {
            forward_affine(io);
            if constexpr (Bias)
                detail::add_bias(io.params.data() + N * D, io.y.data, N, io.y.batch, io.y.batch);
        }
        void backward(const io& io) const {
            if constexpr (Bias)
                detail::add_bias_gradient(io.dy.data, io.grads.data() + N * D, N, io.dy.batch,
                                          io.dy.batch);
            backward_affine(io);
        }

    private:
        using arch = xsimd::default_arch;
        using blocking = kernels::gemm_blocking<arch, T>;
    };
};

/// A fully connected layer of N units (with a bias unless Bias is false).
template <std::size_t N, bool Bias = true>
constexpr dense_node<N, Bias> dense() {
    return {};
}

} // namespace maso
