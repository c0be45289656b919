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
#include <maso/layers/detail/plane_window.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/simd/batch_loop.hpp>

#include <algorithm>
#include <array>
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

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_parameters<T>, no_state, detail::unfused_passes<layer<In, T, Arch>> {
        using arch = Arch;
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, P = In::plane;

        explicit layer(const global_avgpool_node&) {}

        /// Each plane's mean, its sum taken W values at a time.
        void forward_planes(const io&, std::size_t, const T* in, T* out, std::size_t planes) const {
            for (std::size_t n = 0; n < planes; ++n) {
                const auto sum =
                    simd::fused_loop<1>(Arch{}, P, std::array<const T*, 1>{in + n * P},
                                        std::array<T*, 0>{}, [](const auto& v, auto& acc) {
                                            acc[0] += v[0];
                                            return std::array<std::decay_t<decltype(v[0])>, 0>{};
                                        });
                out[n] = sum[0] / T(P);
            }
        }
        /// No β: returns 0.
        T backward_planes(const io&, std::size_t, const T*, const T* dout, T* din,
                          std::size_t planes) const {
            for (std::size_t n = 0; n < planes; ++n)
                std::fill_n(din + n * P, P, dout[n] / T(P));
            return T(0);
        }
    };
};

struct global_softpool_node : detail::global_pool_node {
    beta_spec beta;
    /// Each plane is a unit whose regions are its H·W members, the chosen one the first
    /// maximum in row-major order (run/codes.hpp); how many depends on the input's shape.
    template <class In>
    static constexpr std::size_t code_regions_for = In::plane;

    constexpr global_softpool_node(beta_spec b = {}) : beta(b) {}

    static std::string name(const global_softpool_node& n) {
        return "global_softpool(" + n.beta.label() + ")";
    }

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_state, detail::unfused_passes<layer<In, T, Arch>> {
        using arch = Arch;
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels, P = In::plane;
        detail::beta_source<T> beta;

        explicit layer(const global_softpool_node& n) : beta(n.beta, "global_softpool") {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(C); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        /// Each plane's window, its members W at a time (layers/detail/plane_window.hpp).
        void forward_planes(const io& io, std::size_t c, const T* in, T* out,
                            std::size_t planes) const {
            const detail::plane_window<T, Arch> window(beta.of(io.params, c));
            for (std::size_t n = 0; n < planes; ++n)
                out[n] = window.forward({in + n * P, P});
        }
        /// din may be null (the layer's input needs no gradient). The planes are contiguous,
        /// so the window math writes din directly. Returns channel c's ∂L/∂η, which
        /// commit_planes adds to ∂L/∂θ.
        T backward_planes(const io& io, std::size_t c, const T* in, const T* dout, T* din,
                          std::size_t planes) const {
            const detail::plane_window<T, Arch> window(beta.of(io.params, c));
            T deta = 0;
            for (std::size_t n = 0; n < planes; ++n)
                deta += window.backward({in + n * P, P}, dout[n],
                                        din ? std::span<T>(din + n * P, P) : std::span<T>());
            return deta;
        }
        void commit_planes(const io& io, std::size_t c, T deta) const {
            beta.add_gradient(io.grads, c, deta, beta.of(io.params, c).eta());
        }
        /// backward's ∂L/∂η per channel, committed in channel order (unfused_passes.hpp).
        std::size_t scratch_size(std::size_t) const { return this->staging_size(); }
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
