// maso/layers/avgpool.hpp — avgpool<K>(): average pooling over K×K windows with stride K.
//
//   y[c][n][i][j] = (1/K²) Σ_{0 ≤ a, b < K} x[c][n][iK + a][jK + b],   ∂y/∂x = 1/K² in the window
//
// paper-spec §4.5: a MASO unit with R = 1 region, A = (1/|P|) Σ_{i∈P} e_i, B = 0. With one
// region hard, soft and β inference coincide, so there is no β. It is also softpool<K>(0.f)
// (§4.4, β = 0), which sums the window in the same order and gives the same value up to
// rounding.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/layers/detail/window_lanes.hpp>
#include <maso/layers/detail/window_pass.hpp>
#include <maso/simd/ops.hpp>

#include <array>
#include <limits>
#include <string>

namespace maso {

template <std::size_t K>
struct avgpool_node : detail::pool_node<K> {
    static std::string name(const avgpool_node&) { return "avgpool<" + std::to_string(K) + ">"; }

    template <class In, class T>
    struct layer : no_parameters<T>, no_state, detail::unfused_passes<layer<In, T>> {
        using output = detail::pooled_shape_t<In, K>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;
        static constexpr std::size_t R = K * K;

        explicit layer(const avgpool_node&) {}

        /// Channel c's window math on lanes, for epilogues that pool: β = 0 (θ = −∞, η = 0).
        detail::window_lanes<T> lanes(const io&, std::size_t) const {
            return detail::window_lanes<T>(vq::basic_beta<T>{-std::numeric_limits<T>::infinity()});
        }

        /// The mean on lanes, as forward_windows' scalar sum: the layer's own passes need
        /// no exp (lanes' window_lanes at η = 0 takes e^0 per member, for the tiles' sake).
        struct mean_lanes {
            template <std::size_t N, class V>
            MASO_ALWAYS_INLINE V forward(const std::array<V, N>& v) const noexcept {
                V sum = v[0];
                for (std::size_t r = 1; r < N; ++r)
                    sum += v[r];
                return sum / simd::ops<V>::broadcast(T(N));
            }
            template <std::size_t N, class V>
            MASO_ALWAYS_INLINE V backward(const std::array<V, N>&, V dy,
                                          std::array<V, N>& dv) const noexcept {
                const V d = dy / simd::ops<V>::broadcast(T(N));
                dv.fill(d);
                return simd::ops<V>::broadcast(T(0));
            }
        };

        /// The windows of `planes` consecutive planes, in one vectorised pass
        /// (layers/detail/window_pass.hpp).
        void forward_planes(const io&, std::size_t, const T* in, T* out, std::size_t planes) const {
            detail::forward_window_pass<In, K>(mean_lanes{}, in, out, planes);
        }
        /// No β: returns 0.
        T backward_planes(const io&, std::size_t, const T* in, const T* dout, T* din,
                          std::size_t planes) const {
            return detail::backward_window_pass<In, K>(mean_lanes{}, in, dout, din, planes);
        }
    };
};

/// Average pooling over non-overlapping K×K windows.
template <std::size_t K>
constexpr avgpool_node<K> avgpool() {
    return {};
}

} // namespace maso
