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
#include <maso/layers/detail/pool_window.hpp>

#include <string>

namespace maso {

template <std::size_t K>
struct avgpool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< each window lies inside one H×W plane
    static constexpr std::size_t window = K;

    static std::string name(const avgpool_node&) { return "avgpool<" + std::to_string(K) + ">"; }
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

        explicit layer(const avgpool_node&) {}
        std::size_t parameter_count() const { return 0; }
        std::size_t state_size(std::size_t) const { return 0; }
        std::size_t scratch_size(std::size_t) const { return 0; }
        void initialize(std::span<T>, init_context&) const {}

        void forward_plane(const io&, std::size_t, const T* in, T* out) const {
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    const auto v = detail::gather_window<K, W>(in, i, j);
                    T sum = 0;
                    for (const T x : v)
                        sum += x;
                    out[i * Wo + j] = sum / T(R);
                }
        }
        void backward_plane(const io&, std::size_t, const T*, const T* dout, T* din) const {
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    std::array<T, R> dv;
                    dv.fill(dout[i * Wo + j] / T(R));
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

/// Average pooling over non-overlapping K×K windows.
template <std::size_t K>
constexpr avgpool_node<K> avgpool() {
    return {};
}

} // namespace maso
