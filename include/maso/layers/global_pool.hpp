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
#include <maso/layers/detail/pool_window.hpp>

#include <string>

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
template <class In>
consteval diag check_global() {
    if constexpr (!is_shape_v<In>) // a fragment's no_input: nothing to check yet
        return diag::ok;
    else
        return In::height == 0 || In::width == 0 ? diag::zero_extent : diag::ok;
}
} // namespace detail

struct global_avgpool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< the window is one H×W plane

    static std::string name(const global_avgpool_node&) { return "global_avgpool"; }
    template <class In>
    static consteval diag check() {
        return detail::check_global<In>();
    }
    template <class In>
    using output_shape = typename detail::channel_vector<In>::type;

    template <class In, class T>
    struct layer {
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, P = In::plane;

        explicit layer(const global_avgpool_node&) {}
        std::size_t parameter_count() const { return 0; }
        std::size_t state_size(std::size_t) const { return 0; }
        std::size_t scratch_size(std::size_t) const { return 0; }
        void initialize(std::span<T>, init_context&) const {}

        void forward_plane(const io&, std::size_t, const T* in, T* out) const {
            T sum = 0;
            for (std::size_t i = 0; i < P; ++i)
                sum += in[i];
            out[0] = sum / T(P);
        }
        void backward_plane(const io&, std::size_t, const T*, const T* dout, T* din) const {
            const T g = dout[0] / T(P);
            for (std::size_t i = 0; i < P; ++i)
                din[i] = g;
        }

        void forward(const io& io) const {
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t n = 0; n < io.x.batch; ++n)
                    forward_plane(io, c, io.x.plane(c, n), io.y.plane(c, n));
        }
        void backward(const io& io) const {
            if (!io.dx.data) return; // no parameters: dx is all there is
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t n = 0; n < io.x.batch; ++n)
                    backward_plane(io, c, io.x.plane(c, n), io.dy.plane(c, n), io.dx.plane(c, n));
        }
    };
};

struct global_softpool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< the window is one H×W plane
    beta_spec beta{};

    static std::string name(const global_softpool_node& n) {
        return "global_softpool(" + detail::beta_label(n.beta) + ")";
    }
    template <class In>
    static consteval diag check() {
        return detail::check_global<In>();
    }
    template <class In>
    using output_shape = typename detail::channel_vector<In>::type;

    template <class In, class T>
    struct layer {
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, P = In::plane;
        detail::beta_source<T> beta;

        explicit layer(const global_softpool_node& n)
            : beta((n.beta.validate("global_softpool"), n.beta)) {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::size_t state_size(std::size_t) const { return 0; }
        std::size_t scratch_size(std::size_t) const { return 0; }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        void forward_plane(const io& io, std::size_t c, const T* in, T* out) const {
            const auto b = beta.of(io.params, c);
            out[0] = b.is_hard() ? in[detail::first_max(in, P)]
                                 : detail::beta_window_forward(in, P, b.eta());
        }
        /// din may be null (the layer's input needs no gradient): only ∂L/∂θ is added then.
        /// The plane is contiguous, so the window math writes din directly.
        void backward_plane(const io& io, std::size_t c, const T* in, const T* dout, T* din) const {
            const auto b = beta.of(io.params, c);
            if (b.is_hard()) { // no β gradient on the hard path (§9.3)
                if (!din) return;
                for (std::size_t i = 0; i < P; ++i)
                    din[i] = T(0);
                din[detail::first_max(in, P)] = dout[0];
                return;
            }
            const T eta = b.eta();
            const T deta = detail::beta_window_backward(in, P, eta, dout[0], din);
            if (T* const dtheta = beta.gradient(io.grads, c))
                *dtheta += detail::theta_gradient(deta, eta);
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

/// Average over each channel's whole H×W plane: shape<C, H, W> → shape<C>.
constexpr global_avgpool_node global_avgpool() { return {}; }

/// β-softmax pooling over each channel's whole plane; β fixed, learnable or per channel.
inline global_softpool_node global_softpool(beta_spec beta) {
    beta.validate("global_softpool");
    return {beta};
}

} // namespace maso
