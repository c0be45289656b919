// maso/layers/softmax.hpp — softmax(β): the soft-layer output of fully connected pooling.
//
//   p = softmax(ηz),   p_c = e^{η(z_c − m)} / Σ_r e^{η(z_r − m)},   m = max_r z_r
//
// over the C channels of a vector input, per image; η = β/(1−β), so the default
// β = ½ is the plain softmax(z). paper-spec §4.7, Prop. 6: a dense layer with C
// outputs followed by a max over them is one unit with C regions, and this is
// its soft-layer output (vq/soft/softmax_output.hpp). Backward, with dp the
// upstream gradient and ā = Σ_r p_r a_r:
//   ∂L/∂z_j = η p_j (dp_j − d̄p),   ∂L/∂η = Σ_j dp_j p_j (z_j − z̄),   ∂L/∂θ = η ∂L/∂η
// A learnable β is one θ for the layer (a per-channel β would give each class
// its own temperature, which is no longer a softmax). The values of one image
// sit C strides apart in the channel-major layout, so the node is a window over
// the channels that the planner does not fuse.
#pragma once

#include <maso/expr/beta_spec.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/layers/detail/beta_source.hpp>
#include <maso/vq/derive.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace maso {

struct softmax_node : keeps_shape {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = false;
    beta_spec beta;

    constexpr softmax_node(beta_spec b = {}) : beta(b) {}

    static std::string name(const softmax_node& n) { return "softmax(" + n.beta.label() + ")"; }
    /// Per-layer check shared by the factory and the layer.
    static void validate(const beta_spec& b) {
        b.validate("softmax");
        if (b.learnable && b.per_channel)
            throw value_error("maso: softmax: beta = " + std::to_string(b.value) +
                              " is learnable per channel; softmax takes one beta per layer "
                              "(use learnable(b))");
    }
    /// keeps_shape's output_shape, for a vector input only.
    template <class In>
    static consteval diag check() {
        if (!In::is_vector) return diag::softmax_needs_vector;
        return diag::ok;
    }

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_state {
        using arch = Arch;
        using output = In;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;
        detail::beta_source<T> beta; ///< one β for the layer: "channel" 0

        explicit layer(const softmax_node& n) : beta(n.beta, "softmax") { validate(n.beta); }
        std::size_t parameter_count() const { return beta.parameter_count(1); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(1); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        T eta(const io& io) const { return beta.of(io.params, 0).eta(); }

        /// p = softmax(η z) of image n (vq::posterior_of: tied maxima get exponent 0 even at
        /// η = ∞, so β = 1 gives the uniform distribution over them, not ∞·0); returns the
        /// index of the largest z (the first one on ties).
        static std::size_t probabilities(const std::array<T, C>& z, T eta, std::array<T, C>& p) {
            vq::posterior_of<T>(z, eta, p);
            return vq::hard_region(z);
        }

        /// a_j − ā for every j, where ā = Σ_r p_r a_r, written as (a_j − a_k) +
        /// Σ_r p_r (a_k − a_r) around the most probable index k: when p is nearly
        /// one-hot, a_k − ā is tiny and the direct a_k − ā would cancel away its
        /// digits (paper-spec §9.2); this way it is a p-weighted sum of differences,
        /// still O(C).
        static std::array<T, C> centered(const std::array<T, C>& a, const std::array<T, C>& p,
                                         std::size_t k) {
            T ak = 0;
            for (std::size_t r = 0; r < C; ++r)
                ak += p[r] * (a[k] - a[r]);
            std::array<T, C> out;
            for (std::size_t j = 0; j < C; ++j)
                out[j] = j == k ? ak : (a[j] - a[k]) + ak;
            return out;
        }

        void forward(const io& io) const {
            const T e = eta(io);
            const std::size_t B = io.x.batch;
            std::array<T, C> z, p;
            for (std::size_t n = 0; n < B; ++n) {
                for (std::size_t c = 0; c < C; ++c)
                    z[c] = io.x.channel(c)[n];
                probabilities(z, e, p);
                for (std::size_t c = 0; c < C; ++c)
                    io.y.channel(c)[n] = p[c];
            }
        }
        void backward(const io& io) const {
            const T e = eta(io);
            const std::size_t B = io.x.batch;
            std::array<T, C> z, p, dp;
            T deta = 0;
            for (std::size_t n = 0; n < B; ++n) {
                for (std::size_t c = 0; c < C; ++c) {
                    z[c] = io.x.channel(c)[n];
                    dp[c] = io.dy.channel(c)[n];
                }
                const std::size_t k = probabilities(z, e, p);
                if (std::isinf(e)) { // β = 1: p is piecewise constant in z
                    if (io.dx.data)
                        for (std::size_t c = 0; c < C; ++c)
                            io.dx.channel(c)[n] = T(0);
                    continue;
                }
                const auto dpc = centered(dp, p, k);
                if (io.dx.data)
                    for (std::size_t c = 0; c < C; ++c)
                        io.dx.channel(c)[n] = e * p[c] * dpc[c];
                if (beta.spec.learnable) {
                    const auto zc = centered(z, p, k);
                    for (std::size_t c = 0; c < C; ++c)
                        deta += dp[c] * p[c] * zc[c];
                }
            }
            beta.add_gradient(io.grads, 0, deta, e);
        }
    };
};

/// softmax(ηz) over the channels of a vector, η = β/(1−β); β fixed or learnable
/// for the layer. The default β = ½ is the plain softmax.
inline softmax_node softmax(beta_spec beta = 0.5f) {
    softmax_node::validate(beta);
    return {beta};
}

} // namespace maso
