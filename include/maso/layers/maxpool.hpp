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
#include <maso/layers/detail/pool_window.hpp>

#include <string>

namespace maso {

template <std::size_t K>
struct maxpool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< each window lies inside one H×W plane
    static constexpr std::size_t window = K;

    static std::string name(const maxpool_node&) { return "maxpool<" + std::to_string(K) + ">"; }
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

        explicit layer(const maxpool_node&) {}
        std::size_t parameter_count() const { return 0; }
        std::size_t state_size(std::size_t) const { return 0; }
        std::size_t scratch_size(std::size_t) const { return 0; }
        void initialize(std::span<T>, init_context&) const {}

        void forward_plane(const io&, std::size_t, const T* in, T* out) const {
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    const auto v = detail::gather_window<K, W>(in, i, j);
                    out[i * Wo + j] = v[detail::first_max(v.data(), K * K)];
                }
        }
        /// The winner is found again from the input: nothing is kept from forward.
        void backward_plane(const io&, std::size_t, const T* in, const T* dout, T* din) const {
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    const auto v = detail::gather_window<K, W>(in, i, j);
                    std::array<T, K * K> dv{};
                    dv[detail::first_max(v.data(), K * K)] = dout[i * Wo + j];
                    detail::scatter_window<K, W>(dv, din, i, j);
                }
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

/// Max pooling over non-overlapping K×K windows.
template <std::size_t K>
constexpr maxpool_node<K> maxpool() {
    return {};
}

} // namespace maso
