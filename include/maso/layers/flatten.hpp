// maso/layers/flatten.hpp — flatten(): a feature map as a vector of features.
//
//   y[d][n] = x[c][n][h][w],   d = (c·H + h)·W + w
//
// Each image's features come in the usual NCHW order (the order a
// [N][C][H][W] framework and the paper's "feature map flattened, C·I·J" use,
// paper-spec §0), so weights of a dense layer after it mean the same thing as
// there. It only moves values, from maso's channel-major [C][N][H][W] to the
// vector layout [C·H·W][N]; backward moves them back.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <string>

namespace maso {

struct flatten_node {
    static constexpr node_kind kind = node_kind::reshape;

    static std::string name(const flatten_node&) { return "flatten"; }
    template <class In>
    static consteval diag check() {
        return diag::ok;
    }
    template <class In>
    using output_shape = shape<In::size>;

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_parameters<T>, no_state {
        using arch = Arch;
        using output = shape<In::size>;
        using io = layer_io<In, output, T>;

        explicit layer(const flatten_node&) {}

        void forward(const io& io) const { move(io.x.data, io.y.data, io.x.batch, true); }
        void backward(const io& io) const {
            if (io.dx.data) move(io.dy.data, io.dx.data, io.dx.batch, false);
        }

    private:
        /// Channel-major x[c][n][i] ↔ y[c·plane + i][n], i = h·W + w.
        static void move(const T* from, T* to, std::size_t batch, bool to_vector) {
            constexpr std::size_t P = In::plane;
            // A vector input or a single image is already in both orders.
            if (P == 1 || batch == 1) {
                std::copy_n(from, In::size * batch, to);
                return;
            }
            for (std::size_t c = 0; c < In::channels; ++c)
                for (std::size_t n = 0; n < batch; ++n)
                    for (std::size_t i = 0; i < P; ++i) {
                        const std::size_t map = (c * batch + n) * P + i;
                        const std::size_t vec = (c * P + i) * batch + n;
                        if (to_vector)
                            to[vec] = from[map];
                        else
                            to[map] = from[vec];
                    }
        }
    };
};

/// Reshapes a C×H×W map into a vector of C·H·W features, per image in NCHW order.
constexpr flatten_node flatten() { return {}; }

} // namespace maso
