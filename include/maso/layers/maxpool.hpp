// maso/layers/maxpool.hpp — maxpool<K>(): max pooling over K×K windows with stride K.
//
//   y[c][n][i][j] = max_{0 ≤ a, b < K} x[c][n][iK + a][jK + b]
//
// paper-spec §4.4: each window is a MASO unit whose regions are the window's entries
// (vq::window_max<K·K>, A = e_{i_r}, B = 0), inferred hard. Ties go to the lowest index in
// row-major order inside the window, as vq/derive.hpp's hard_region, and the gradient goes
// to that one winner: ∂y/∂x = e_{r*}. softpool<K>(1.f) is the same layer reached at β = 1.
// Windows do not overlap and tile the map (E014 otherwise), so backward writes every input
// gradient exactly once.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/layers/detail/window_lanes.hpp>
#include <maso/layers/detail/window_pass.hpp>

#include <limits>
#include <string>

namespace maso {

template <std::size_t K>
struct maxpool_node : detail::pool_node<K> {
    /// Each window is a unit whose region is the member chosen (run/codes.hpp).
    static constexpr std::size_t code_regions = K * K;
    static std::string name(const maxpool_node&) { return "maxpool<" + std::to_string(K) + ">"; }

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_parameters<T>, no_state, detail::unfused_passes<layer<In, T, Arch>> {
        using arch = Arch;
        using output = detail::pooled_shape_t<In, K>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;

        explicit layer(const maxpool_node&) {}

        /// Channel c's window math on lanes, for epilogues that pool: the hard path (θ = +∞).
        detail::window_lanes<T> lanes(const io&, std::size_t) const {
            return detail::window_lanes<T>(vq::basic_beta<T>{std::numeric_limits<T>::infinity()});
        }

        /// The windows of `planes` consecutive planes of channel c, in one vectorised pass
        /// (layers/detail/window_pass.hpp).
        void forward_planes(const io& io, std::size_t c, const T* in, T* out,
                            std::size_t planes) const {
            detail::forward_window_pass<In, K, Arch>(lanes(io, c), in, out, planes);
        }
        /// The winner is found again from the input: nothing is kept from forward. No β:
        /// returns 0.
        T backward_planes(const io& io, std::size_t c, const T* in, const T* dout, T* din,
                          std::size_t planes) const {
            return detail::backward_window_pass<In, K, Arch>(lanes(io, c), in, dout, din, planes);
        }
    };
};

/// Max pooling over non-overlapping K×K windows.
template <std::size_t K>
constexpr maxpool_node<K> maxpool() {
    return {};
}

} // namespace maso
