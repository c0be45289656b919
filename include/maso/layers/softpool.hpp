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
#include <maso/layers/detail/pool_window.hpp>

#include <string>

namespace maso {

template <std::size_t K>
struct softpool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< each window lies inside one H×W plane
    static constexpr std::size_t window = K;
    beta_spec beta{};

    static std::string name(const softpool_node& n) {
        return "softpool<" + std::to_string(K) + ">(" + detail::beta_label(n.beta) + ")";
    }
    template <class In>
    static consteval diag check() {
        return detail::check_pool<In, K>();
    }
    template <class In>
    using output_shape = detail::pooled_shape_t<In, K>;

    template <class In, class T>
    struct layer {
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, W = In::width;
        static constexpr std::size_t Ho = output::height, Wo = output::width;
        static constexpr std::size_t R = K * K;
        detail::beta_source<T> beta;

        explicit layer(const softpool_node& n) : beta((n.beta.validate("softpool"), n.beta)) {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::size_t state_size(std::size_t) const { return 0; }
        std::size_t scratch_size(std::size_t) const { return 0; }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        void forward_plane(const io& io, std::size_t c, const T* in, T* out) const {
            const auto b = beta.of(io.params, c);
            const T eta = b.eta();
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    const auto v = detail::gather_window<K, W>(in, i, j);
                    out[i * Wo + j] = b.is_hard() ? v[detail::first_max(v.data(), R)]
                                                  : detail::beta_window_forward(v.data(), R, eta);
                }
        }
        /// din may be null (the layer's input needs no gradient): only ∂L/∂θ is added then.
        void backward_plane(const io& io, std::size_t c, const T* in, const T* dout, T* din) const {
            const auto b = beta.of(io.params, c);
            const T eta = b.eta();
            T* const dtheta = beta.gradient(io.grads, c);
            T deta = 0;
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    const auto v = detail::gather_window<K, W>(in, i, j);
                    std::array<T, R> dv{};
                    if (b.is_hard()) // no β gradient on the hard path (§9.3)
                        dv[detail::first_max(v.data(), R)] = dout[i * Wo + j];
                    else
                        deta += detail::beta_window_backward(v.data(), R, eta, dout[i * Wo + j],
                                                             din ? dv.data() : nullptr);
                    if (din) detail::scatter_window<K, W>(dv, din, i, j);
                }
            if (dtheta) *dtheta += detail::theta_gradient(deta, eta);
        }

        void forward(const io& io) const {
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t n = 0; n < io.x.batch; ++n)
                    forward_plane(io, c, io.x.plane(c, n), io.y.plane(c, n));
        }
        void backward(const io& io) const {
            if (!io.dx.data && !beta.spec.learnable) return;
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t n = 0; n < io.x.batch; ++n)
                    backward_plane(io, c, io.x.plane(c, n), io.dy.plane(c, n),
                                   io.dx.data ? io.dx.plane(c, n) : nullptr);
        }
    };
};

/// β-softmax pooling over non-overlapping K×K windows; β fixed, learnable or per channel.
template <std::size_t K>
softpool_node<K> softpool(beta_spec beta) {
    beta.validate("softpool");
    return {beta};
}

} // namespace maso
