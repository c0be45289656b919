// maso/layers/dense.hpp — dense<N>(): the fully connected affine map y = W x + b.
//
// W is N × D (D = the input's size), one row per output unit; b has N entries.
// In maso's channel-major layout the input is X[D][batch] and the output
// Y[N][batch], so forward is one GEMM and backward two (kernels/gemm.hpp):
//   Y = W X + b,   dW += dY Xᵀ,   db += Σ_batch dY,   dX = Wᵀ dY.
// As a contraction it heads a fused group: the planner runs forward_affine,
// then the bias and the units that follow in one epilogue pass.
#pragma once

#include <maso/core/weight_init.hpp>
#include <maso/expr/chain.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/layers/bias.hpp>

#include <string>

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

        /// z = W x, without the bias.
        void forward_affine(const io& io) const {
            kernels::gemm_nn(N, io.x.batch, D, io.params.data(), io.x.data, io.y.data, false);
        }
        /// dW += dz xᵀ and dx = Wᵀ dz; the bias gradient is the bias op's.
        void backward_affine(const io& io) const {
            kernels::gemm_nt(N, D, io.x.batch, io.dy.data, io.x.data, io.grads.data(), true);
            if (io.dx.data)
                kernels::gemm_tn(D, io.x.batch, N, io.params.data(), io.dy.data, io.dx.data, false);
        }
        bias_op<T> bias(const io& io, std::size_t c) const {
            return {io.params[N * D + c], io.grads.data() + N * D + c};
        }

        void forward(const io& io) const {
            forward_affine(io);
            if constexpr (Bias)
                for (std::size_t c = 0; c < N; ++c)
                    for (std::size_t i = 0, n = io.y.batch; i < n; ++i)
                        io.y.channel(c)[i] += io.params[N * D + c];
        }
        void backward(const io& io) const {
            if constexpr (Bias)
                for (std::size_t c = 0; c < N; ++c) {
                    T s = 0;
                    for (std::size_t i = 0, n = io.dy.batch; i < n; ++i)
                        s += io.dy.channel(c)[i];
                    io.grads[N * D + c] += s;
                }
            backward_affine(io);
        }
    };
};

/// A fully connected layer of N units (with a bias unless Bias is false).
template <std::size_t N, bool Bias = true>
constexpr dense_node<N, Bias> dense() {
    return {};
}

} // namespace maso
