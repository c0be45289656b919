// maso/layers/batch_norm.hpp — batch_norm(momentum, eps): per-channel normalisation.
//
//   y = γ_c (x − μ_c) · s_c + β_c,   s_c = 1/√(σ²_c + ε)
//
// Training: μ_c and σ²_c are the mean and the biased variance of channel c over
// its M = batch·H·W values, and the running statistics move towards the batch
// ones, running ← (1 − momentum)·running + momentum·batch, the variance with the
// unbiased M/(M − 1) estimate — only from a batch whose statistics are all finite
// (commit_batch: maso::numeric_error otherwise, the running ones untouched). Evaluation: μ, σ² are
// the running statistics and nothing is updated. paper-spec §7 (BN between each conv and its
// nonlinearity in the authors' runs) and §9.9 (training mode for gradients, evaluation mode for
// test).
//
// Backward in training, with x̂ = (x − μ)s and dy the gradient at y:
//   dγ += Σ dy·x̂,   dβ += Σ dy,
//   dx  = γ s dy − (γ s / M)(Σ dy + x̂ Σ dy·x̂)
// The first term is the pointwise op (op), the second the batch-statistics
// term (correct), so the fusion planner can run the apply inside a chain of
// pointwise ops and add the term after the chain's backward. In evaluation the
// statistics are constants and the second term vanishes.
//
// Parameters: [γ_0 … γ_{C−1}, β_0 … β_{C−1}], γ = 1 and β = 0 at start.
// State (persists for the model's life; see layout below). The caller
// zero-fills it (a model then calls initialize_state, which stores what the zeros
// stand for), and a zero-filled state must mean "running mean 0, running
// variance 1": the first slot is a flag that is 0 until the first training
// forward has set the running statistics, and while it is 0 the running
// statistics read as (0, 1) whatever the slots hold. This keeps both values
// stored as themselves (an offset encoding like var − 1 would lose the
// precision of small variances in float).
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/tensor_slot.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/channel_moments.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/simd/batch_loop.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

namespace maso {

/// One channel's batch-norm apply as a pointwise op (kernels/pointwise_chain.hpp).
template <class T>
struct batch_norm_op {
    static constexpr std::size_t accumulators = 2; // Σ dy·x̂, Σ dy
    T mean, inv_std, gamma, beta;
    T* grad_gamma;  ///< ∂L/∂γ_c (accumulated)
    T* grad_beta;   ///< ∂L/∂β_c (accumulated)
    T* sum_dy_xhat; ///< state: Σ dy·x̂ of the last backward, read by correct
    T* sum_dy;      ///< state: Σ dy of the last backward, read by correct

    template <class V>
    V forward(V x) const {
        using O = simd::ops<V>;
        // (x − μ) first: subtracting before scaling keeps the digits of x − μ
        // when |μ| is large against the standard deviation.
        return O::fma(x - O::broadcast(mean), O::broadcast(gamma * inv_std), O::broadcast(beta));
    }
    template <class V>
    V backward(V x, V dy, V* acc) const {
        using O = simd::ops<V>;
        const V xhat = (x - O::broadcast(mean)) * O::broadcast(inv_std);
        acc[0] = O::fma(dy, xhat, acc[0]); // carries dy: padded lanes add 0
        acc[1] += dy;
        return dy * O::broadcast(gamma * inv_std);
    }
    void commit(const T* sums) const {
        *grad_gamma += sums[0];
        *grad_beta += sums[1];
        *sum_dy_xhat = sums[0];
        *sum_dy = sums[1];
    }
};

struct batch_norm_node : keeps_shape {
    static constexpr node_kind kind = node_kind::normalization;
    float momentum;
    float eps;

    constexpr batch_norm_node(float m = 0.1f, float e = 1e-5f) : momentum(m), eps(e) {}

    /// momentum in (0, 1], eps > 0 (NaN refused); else maso::value_error.
    void validate() const {
        if (!(momentum > 0.f && momentum <= 1.f))
            throw value_error("maso: batch_norm: momentum = " + std::to_string(momentum) +
                              " is outside (0, 1]");
        if (!(eps > 0.f))
            throw value_error("maso: batch_norm: eps = " + std::to_string(eps) +
                              " must be positive");
    }

    static std::string name(const batch_norm_node& n) {
        std::ostringstream s; // default float format: 0.1 and 1e-05, not 0.100000
        s << "batch_norm(momentum = " << n.momentum << ", eps = " << n.eps << ")";
        return s.str();
    }
    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : detail::unfused_passes<layer<In, T, Arch>> {
        using arch = Arch;
        using output = In;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;

        // State layout, in values of T.
        static constexpr std::size_t running_set_at = 0; ///< 0 until the first training forward
        static constexpr std::size_t running_mean_at = 1;
        static constexpr std::size_t running_var_at = 1 + C;
        static constexpr std::size_t mean_at = 1 + 2 * C;        ///< μ used by the last forward
        static constexpr std::size_t inv_std_at = 1 + 3 * C;     ///< s used by the last forward
        static constexpr std::size_t sum_dy_xhat_at = 1 + 4 * C; ///< of the last backward
        static constexpr std::size_t sum_dy_at = 1 + 5 * C;      ///< of the last backward
        static constexpr std::size_t batch_var_at = 1 + 6 * C;   ///< unbiased, of the last batch

        T momentum, eps;

        explicit layer(const batch_norm_node& n) : momentum(T(n.momentum)), eps(T(n.eps)) {
            n.validate();
        }
        std::size_t parameter_count() const { return 2 * C; }
        std::size_t state_size(std::size_t) const { return 1 + 7 * C; }
        std::size_t scratch_size(std::size_t) const { return 0; }
        void initialize(std::span<T> params, init_context&) const {
            for (std::size_t c = 0; c < C; ++c) {
                params[c] = T(1);
                params[C + c] = T(0);
            }
        }
        /// Running mean 0 and variance 1, marked as set: what a zero-filled state reads as,
        /// stored, so that the state dict's spans hold the values they stand for.
        void initialize_state(std::span<T> state) const {
            for (std::size_t c = 0; c < C; ++c) {
                state[running_mean_at + c] = T(0);
                state[running_var_at + c] = T(1);
            }
            state[running_set_at] = T(1);
        }
        /// γ ("weight") and β ("bias") as PyTorch's BatchNorm names them, then the running
        /// statistics in the state.
        std::vector<tensor_slot> tensors() const {
            return {{"weight", parameter_kind::scale, 0, {C}},
                    {"bias", parameter_kind::shift, C, {C}},
                    {"running_mean", parameter_kind::running_mean, running_mean_at, {C}},
                    {"running_var", parameter_kind::running_var, running_var_at, {C}}};
        }

        /// The running statistics as they stand, honouring the "not yet set" flag.
        static T running_mean(std::span<const T> state, std::size_t c) {
            return state[running_set_at] != T(0) ? state[running_mean_at + c] : T(0);
        }
        static T running_var(std::span<const T> state, std::size_t c) {
            return state[running_set_at] != T(0) ? state[running_var_at + c] : T(1);
        }

        /// μ_c and s_c of io.x into the state: the batch's in training (updating the
        /// running statistics), the running ones in evaluation.
        void statistics(const io& io) const {
            if (io.phase == mode::evaluation) {
                running_statistics(io);
                return;
            }
            const std::size_t m = begin_batch(io);
            // Channels on the pool's threads: each writes only its own entries.
            parallel_for(C, [&](std::size_t c0, std::size_t c1, std::size_t) {
                for (std::size_t c = c0; c < c1; ++c) {
                    const auto [mu, ss] = detail::channel_moments<T, Arch>(io.x.channel(c), m);
                    batch_statistics(io, c, mu, ss, m);
                }
            });
            commit_batch(io, m);
        }

        /// Evaluation: μ_c and s_c of the running statistics into the state, for op().
        void running_statistics(const io& io) const {
            const std::span<T> st = io.state;
            for (std::size_t c = 0; c < C; ++c) {
                st[mean_at + c] = running_mean(st, c);
                st[inv_std_at + c] = T(1) / std::sqrt(running_var(st, c) + eps);
            }
        }

        /// Training, before batch_statistics: checks that a channel has M ≥ 2 values,
        /// sets the running statistics on their first use, and returns M. Callers that
        /// gather the sums themselves (run/program.hpp: on the GEMM's register tiles)
        /// use this and batch_statistics, so both paths share the arithmetic below.
        std::size_t begin_batch(const io& io) const {
            const std::span<T> st = io.state;
            const std::size_t m = io.x.batch * In::plane;
            if (m < 2)
                throw value_error("maso: batch_norm in training needs at least 2 values per "
                                  "channel (batch · H · W = " +
                                  std::to_string(m) + "); use evaluation mode for one value");
            if (st[running_set_at] == T(0)) {
                for (std::size_t c = 0; c < C; ++c) {
                    st[running_mean_at + c] = T(0);
                    st[running_var_at + c] = T(1);
                }
                st[running_set_at] = T(1);
            }
            return m;
        }

        /// Training: channel c's batch mean μ and sum of squared deviations ss = Σ(x − μ)²
        /// over its m values give μ_c and s_c (biased variance ss/m), and the unbiased
        /// variance ss/(m − 1) that commit_batch moves the running statistics with.
        /// Writes only channel c's entries.
        void batch_statistics(const io& io, std::size_t c, double mu, double ss,
                              std::size_t m) const {
            const std::span<T> st = io.state;
            const T var = T(ss / double(m));
            st[mean_at + c] = T(mu);
            st[inv_std_at + c] = T(1) / std::sqrt(var + eps);
            st[batch_var_at + c] = T(ss / double(m - 1));
        }

        /// Training, once every channel's batch_statistics is in: the running statistics
        /// move towards the batch's, all channels or none. A mean or variance that is not
        /// finite (a NaN or an infinity in the batch, or values whose squares overflow)
        /// raises maso::numeric_error naming the channel, and the running statistics stay
        /// as they were: one bad batch must not poison every later evaluation.
        void commit_batch(const io& io, std::size_t m) const {
            const std::span<T> st = io.state;
            for (std::size_t c = 0; c < C; ++c)
                if (!std::isfinite(st[mean_at + c]) || !std::isfinite(st[batch_var_at + c]))
                    throw numeric_error("maso: batch_norm: channel " + std::to_string(c) +
                                        "'s batch " +
                                        (std::isfinite(st[mean_at + c])
                                             ? "variance is " + number(st[batch_var_at + c])
                                             : "mean is " + number(st[mean_at + c])) +
                                        " over its " + std::to_string(m) +
                                        " values; the running statistics are left unchanged");
            for (std::size_t c = 0; c < C; ++c) {
                st[running_mean_at + c] =
                    (T(1) - momentum) * st[running_mean_at + c] + momentum * st[mean_at + c];
                st[running_var_at + c] =
                    (T(1) - momentum) * st[running_var_at + c] + momentum * st[batch_var_at + c];
            }
        }

        /// Channel c's apply with the statistics of the last statistics() call.
        batch_norm_op<T> op(const io& io, std::size_t c) const {
            return {io.state[mean_at + c],
                    io.state[inv_std_at + c],
                    io.params[c],
                    io.params[C + c],
                    io.grads.empty() ? nullptr : io.grads.data() + c,
                    io.grads.empty() ? nullptr : io.grads.data() + C + c,
                    io.state.data() + sum_dy_xhat_at + c,
                    io.state.data() + sum_dy_at + c};
        }

        /// The batch-statistics term of dx, after the op's backward (whose commit
        /// stored Σ dy·x̂ and Σ dy): dx ← dx − (γ s / M)(Σ dy + x̂ Σ dy·x̂), M = n.
        /// x_channel is the input of the batch norm itself. No-op in evaluation.
        void correct(const io& io, std::size_t c, const T* x_channel, T* dx_channel,
                     std::size_t n) const {
            if (io.phase == mode::evaluation || n == 0) return;
            const T mean = io.state[mean_at + c], inv_std = io.state[inv_std_at + c];
            const T k = io.params[c] * inv_std / T(n);
            const T a = k * io.state[sum_dy_at + c], b = k * io.state[sum_dy_xhat_at + c];
            simd::fused_loop(
                Arch{}, n, std::array<const T*, 2>{x_channel, dx_channel},
                std::array<T*, 1>{dx_channel}, [&](const auto& in, auto&) {
                    using V = std::decay_t<decltype(in[0])>;
                    using O = simd::ops<V>;
                    const V xhat = (in[0] - O::broadcast(mean)) * O::broadcast(inv_std);
                    return std::array{in[1] - O::fma(xhat, O::broadcast(b), O::broadcast(a))};
                });
        }

        static std::string number(T v) {
            std::ostringstream s;
            s << v;
            return s.str();
        }

        void forward(const io& io) const {
            statistics(io);
            detail::unfused_passes<layer>::forward(io);
        }
        /// Channels on the pool's threads: each commits only its own γ, β and sums.
        void backward(const io& io) const {
            const std::size_t n = io.x.batch * In::plane;
            parallel_for(C, [&](std::size_t c0, std::size_t c1, std::size_t) {
                for (std::size_t c = c0; c < c1; ++c) {
                    this->backward_channel(io, c);
                    if (io.dx.data) correct(io, c, io.x.channel(c), io.dx.channel(c), n);
                }
            });
        }
    };
};

/// Batch normalisation with learnable γ, β per channel; momentum in (0, 1] weighs
/// the newest batch in the running statistics, eps > 0 guards 1/√(σ² + ε).
inline batch_norm_node batch_norm(float momentum = 0.1f, float eps = 1e-5f) {
    const batch_norm_node n{momentum, eps};
    n.validate();
    return n;
}

} // namespace maso
