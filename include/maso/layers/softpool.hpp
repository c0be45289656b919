// maso/layers/softpool.hpp — softpool<K>(β): β-softmax pooling over K×K windows, stride K.
//
//   y = Σ_r softmax(η v)_r v_r over each window's entries v,  η = β/(1−β)
//   ∂y/∂v_j = p_j (1 + η (v_j − y)),   ∂y/∂θ = η Var_p(v)   (β = σ(θ), η = e^θ)
//
// paper-spec §4.4 (Prop. 4 at β = ½) and §3.1: the β-VQ inference of the max-pooling MASO.
//   β = 1   max pooling — taken as the hard path, with maxpool's tie rule and gradient
//   β = ½   softmax pooling Σ e^v v / Σ e^v (Boureau et al. 2010)
//   β = 0   average pooling
//   softpool<2>(0.9f)                       β fixed
//   softpool<2>(learnable(0.5f))            one learnable β, stored as θ = logit(β)
//   softpool<2>(learnable_per_channel(0.5f)) one θ per channel
// ∂L/∂θ sums over every window, image and (per layer) channel that shares θ (§9.9).
#pragma once

#include <maso/expr/beta_spec.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/beta_source.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/layers/detail/window_lanes.hpp>
#include <maso/layers/detail/window_pass.hpp>

#include <string>
#include <vector>

namespace maso {

template <std::size_t K>
struct softpool_node : detail::pool_node<K> {
    /// Each window is a unit whose hard region is its first maximum (run/codes.hpp).
    static constexpr std::size_t code_regions = K * K;
    beta_spec beta;

    constexpr softpool_node(beta_spec b = {}) : beta(b) {}

    static std::string name(const softpool_node& n) {
        return "softpool<" + std::to_string(K) + ">(" + n.beta.label() + ")";
    }

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_state, detail::unfused_passes<layer<In, T, Arch>> {
        using arch = Arch;
        using output = detail::pooled_shape_t<In, K>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;
        detail::beta_source<T> beta;

        explicit layer(const softpool_node& n) : beta(n.beta, "softpool") {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(C); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        /// Channel c's window math on lanes, for epilogues that pool and forward_planes: its β.
        detail::window_lanes<T> lanes(const io& io, std::size_t c) const {
            return detail::window_lanes<T>(beta.of(io.params, c));
        }

        /// The windows of `planes` consecutive planes of channel c, in one vectorised pass
        /// (layers/detail/window_pass.hpp).
        void forward_planes(const io& io, std::size_t c, const T* in, T* out,
                            std::size_t planes) const {
            detail::forward_window_pass<In, K, Arch>(lanes(io, c), in, out, planes);
        }
        /// din may be null (the layer's input needs no gradient). Returns ∂L/∂η of channel
        /// c's windows, which commit_planes adds to ∂L/∂θ.
        T backward_planes(const io& io, std::size_t c, const T* in, const T* dout, T* din,
                          std::size_t planes) const {
            return detail::backward_window_pass<In, K, Arch>(lanes(io, c), in, dout, din, planes);
        }
        void commit_planes(const io& io, std::size_t c, T deta) const {
            beta.add_gradient(io.grads, c, deta, beta.of(io.params, c).eta());
        }
        /// backward's ∂L/∂η per channel, committed in channel order (unfused_passes.hpp).
        std::size_t scratch_size(std::size_t) const { return this->staging_size(); }
    };
};

/// β-softmax pooling over non-overlapping K×K windows; β fixed, learnable or per channel.
template <std::size_t K>
softpool_node<K> softpool(beta_spec beta) {
    beta.validate("softpool");
    return {beta};
}

} // namespace maso
