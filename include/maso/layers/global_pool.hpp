// maso/layers/global_pool.hpp — global_avgpool() and global_softpool(β): one window per plane.
//
//   global_avgpool    y[c][n] = (1/HW) Σ_{h,w} x[c][n][h][w]
//   global_softpool   y[c][n] = Σ_r softmax(η v)_r v_r,  v = the plane x[c][n],  η = β/(1−β)
//
// paper-spec §4.4–§4.6: "global max-pooling is the same construction with the window = the
// whole map". These are avgpool<K> and softpool<K> with the K×K window grown to the H×W
// plane, so output shape<C, 1, 1> (a vector, ready for dense<N>), and the same family:
//   global_softpool(1.f) is global max pooling (hard path, first maximum in row-major order),
//   global_softpool(0.5f) global softmax pooling, global_softpool(0.f) == global_avgpool().
// A learnable β is stored as θ = logit(β), per layer or per channel, like softpool's.
#pragma once

#include <maso/expr/beta_spec.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/beta_source.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/unfused_passes.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace maso {

namespace detail {
template <class In>
struct channel_vector {
    using type = invalid_shape; // a fragment's no_input, or a failed input
};
template <std::size_t C, std::size_t H, std::size_t W>
struct channel_vector<shape<C, H, W>> {
    using type = shape<C, 1, 1>;
};
/// What both global pooling nodes publish: a window that is one whole H×W plane, output
/// shape<C, 1, 1>; E018 for an empty plane.
struct global_pool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< the window is one H×W plane

    template <class In>
    static consteval diag check() {
        if constexpr (!is_shape_v<In>) // a fragment's no_input: nothing to check yet
            return diag::ok;
        else
            return In::height == 0 || In::width == 0 ? diag::zero_extent : diag::ok;
    }
    template <class In>
    using output_shape = typename channel_vector<In>::type;
};
} // namespace detail

struct global_avgpool_node : detail::global_pool_node {
    static std::string name(const global_avgpool_node&) { return "global_avgpool"; }

    template <class In, class T>
    struct layer : no_parameters<T>, no_state, detail::unfused_passes<layer<In, T>> {
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, P = In::plane;

        explicit layer(const global_avgpool_node&) {}

        void forward_plane(const io&, std::size_t, const T* in, T* out) const {
            T sum = 0;
            for (std::size_t i = 0; i < P; ++i)
                sum += in[i];
            out[0] = sum / T(P);
        }
        void backward_plane(const io&, std::size_t, const T*, const T* dout, T* din) const {
            std::fill_n(din, P, dout[0] / T(P));
        }
    };
};

struct global_softpool_node : detail::global_pool_node {
    beta_spec beta;

    constexpr global_softpool_node(beta_spec b = {}) : beta(b) {}

    static std::string name(const global_softpool_node& n) {
        return "global_softpool(" + n.beta.label() + ")";
    }

    template <class In, class T>
    struct layer : no_state, detail::unfused_passes<layer<In, T>> {
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, P = In::plane;
        detail::beta_source<T> beta;

        explicit layer(const global_softpool_node& n) : beta(n.beta, "global_softpool") {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(C); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        void forward_plane(const io& io, std::size_t c, const T* in, T* out) const {
            out[0] = detail::window_pool<T>(beta.of(io.params, c)).forward({in, P});
        }
        /// din may be null (the layer's input needs no gradient): only ∂L/∂θ is added then.
        /// The plane is contiguous, so the window math writes din directly.
        void backward_plane(const io& io, std::size_t c, const T* in, const T* dout, T* din) const {
            const detail::window_pool<T> pool(beta.of(io.params, c));
            const T deta =
                pool.backward({in, P}, dout[0], din ? std::span<T>(din, P) : std::span<T>());
            beta.add_gradient(io.grads, c, deta, pool.eta);
        }
    };
};

/// Average over each channel's whole H×W plane: shape<C, H, W> → shape<C>.
constexpr global_avgpool_node global_avgpool() { return {}; }

/// β-softmax pooling over each channel's whole plane; β fixed, learnable or per channel.
inline global_softpool_node global_softpool(beta_spec beta) {
    beta.validate("global_softpool");
    return {beta};
}

} // namespace maso
