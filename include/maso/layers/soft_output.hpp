// maso/layers/soft_output.hpp — sigmoid(β) and tanh(β): soft-layer outputs as layers.
//
//   sigmoid(β)  y = σ(ηz)      the active-region probability of ReLU's β-VQ (Prop. 5)
//   tanh(β)     y = tanh(ηz)   p_1 − p_0 of |·|'s β-VQ, tanh(u) = 2σ(2u) − 1 (App. E.6)
//
// with η = β/(1−β); at the default β = ½ (η = 1) they are the usual σ(z) and
// tanh(z). paper-spec §4.7. The math is vq/elementwise.hpp's soft_pass of the
// readouts vq::sigmoid_output and vq::tanh_output:
//   ∂y/∂z = (w_1 − w_0) Δ η p_0 p_1,   ∂y/∂θ = (w_1 − w_0) u p_0 p_1   (u = ηΔz)
// β is given as in vq_node.hpp: fixed, learnable for the layer or per channel
// (θ with β = σ(θ) in the parameters). Per channel the layer is one pointwise op
// (`op`), which the planner chains after the affine map that precedes it.
//
// Naming: inside namespace maso, maso::tanh hides ::tanh for unqualified calls,
// so maso's own code writes std::tanh. Users with `using namespace maso` who
// pass a bare float get ::tanh(float) by overload resolution; write
// maso::tanh(0.8f), or pass a beta_spec (learnable(0.8f)).
#pragma once

#include <maso/expr/beta_spec.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/beta_source.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/elementwise.hpp>
#include <maso/vq/soft/sigmoid_output.hpp>
#include <maso/vq/soft/tanh_output.hpp>

#include <string>
#include <vector>

namespace maso {

/// One channel's soft-layer output as a pointwise op (kernels/pointwise_chain.hpp). β = 1
/// (θ = +∞) takes the hard readout, as vq_op takes the hard unit: η would be capped at
/// 1e30, not infinite, and the soft pass's gradient would be a spike of ≈ 1e30 at z = 0.
template <vq::two_region_readout S, class T>
struct soft_output_op {
    static constexpr std::size_t accumulators = 1;
    vq::soft_pass<S, T> pass;
    vq::hard_readout_pass<S, T> hard;
    bool is_hard;
    T* grad; ///< ∂L/∂θ of this channel's β, or null when β is fixed

    template <class V>
    V forward(V z) const {
        return is_hard ? hard.forward(z) : pass.forward(z);
    }
    template <class V>
    V backward(V z, V dy, V* acc) const {
        return is_hard ? hard.backward(z, dy, acc[0]) : pass.backward(z, dy, acc[0]);
    }
    void commit(const T* sums) const {
        if (grad) *grad += sums[0];
    }
};

template <vq::two_region_readout S>
struct soft_output_node : keeps_shape {
    static constexpr node_kind kind = node_kind::elementwise;
    beta_spec beta;

    constexpr soft_output_node(beta_spec b = {}) : beta(b) {}

    static std::string name(const soft_output_node& n) {
        return std::string(S::name()) + "(" + n.beta.label() + ")";
    }

    template <class In, class T>
    struct layer : no_state, detail::unfused_passes<layer<In, T>> {
        using output = In;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;
        detail::beta_source<T> beta;

        explicit layer(const soft_output_node& n) : beta(n.beta, S::name()) {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(C); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }
        /// backward's ∂L/∂θ per channel, committed in channel order (unfused_passes.hpp).
        std::size_t scratch_size(std::size_t) const { return this->staging_size(); }

        /// θ of channel c: a parameter when learnable, else the fixed value.
        vq::basic_beta<T> beta_of(const io& io, std::size_t c) const {
            return beta.of(io.params, c);
        }
        soft_output_op<S, T> op(const io& io, std::size_t c) const {
            const auto b = beta_of(io, c);
            return {vq::soft_pass<S, T>(b), {}, b.is_hard(), beta.gradient(io.grads, c)};
        }
    };
};

/// σ(ηz) elementwise, η = β/(1−β): ReLU's soft-layer output (β = ½: the sigmoid).
inline soft_output_node<vq::sigmoid_output> sigmoid(beta_spec beta = 0.5f) {
    beta.validate("sigmoid");
    return {beta};
}

/// tanh(ηz) elementwise, η = β/(1−β): |·|'s soft-layer output (β = ½: tanh).
inline soft_output_node<vq::tanh_output> tanh(beta_spec beta = 0.5f) {
    beta.validate("tanh");
    return {beta};
}

} // namespace maso
