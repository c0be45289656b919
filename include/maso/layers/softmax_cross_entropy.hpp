// maso/layers/softmax_cross_entropy.hpp — softmax_cross_entropy(): the loss node.
//
//   p = softmax(z),   L = (1/B) Σ_n [ LSE(z_n) − z_{n, label_n} ],   LSE(z) = m + log Σ_r e^{z_r −
//   m} ∂L/∂z_n = (p_n − onehot(label_n)) / B
//
// over the C class scores of a vector input (m = max_r z_r keeps every exponent
// ≤ 0). paper-spec §4.7, Prop. 6 with η = 1 (β = ½): the soft-layer output of
// fully connected pooling combined with cross-entropy, ∂CE/∂z = p − onehot; §7:
// the loss of every experiment. The node's output is p; forward also writes the
// mean loss to *io.loss. It is the last node of a network (E016), so backward
// starts here: it ignores io.dy and writes dx from the labels.
#pragma once

#include <maso/core/error.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/simd/batch_ops.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <string>

namespace maso {

struct softmax_cross_entropy_node : keeps_shape {
    static constexpr node_kind kind = node_kind::loss;

    static std::string name(const softmax_cross_entropy_node&) { return "softmax_cross_entropy"; }
    /// keeps_shape's output_shape, for a vector input only.
    template <class In>
    static consteval diag check() {
        if (!In::is_vector) return diag::loss_needs_vector;
        return diag::ok;
    }

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_parameters<T>, no_state {
        using arch = Arch;
        using output = In;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;

        explicit layer(const softmax_cross_entropy_node&) {}

        /// Every label in [0, C), checked before anything is written.
        static void check_labels(const io& io) {
            if (!io.labels)
                throw value_error("maso: softmax_cross_entropy: the loss needs one label per "
                                  "image and none were given");
            for (std::size_t n = 0; n < io.x.batch; ++n) {
                const int l = io.labels[n];
                if (l < 0 || std::size_t(l) >= C)
                    throw value_error("maso: softmax_cross_entropy: image " + std::to_string(n) +
                                      " has label " + std::to_string(l) + ", outside [0, " +
                                      std::to_string(C) + ") for " + std::to_string(C) +
                                      " classes");
            }
        }

        /// e_r = e^{z_r − m} of image n into e; returns Σ_r e_r (≥ 1: the max contributes 1)
        /// and the max m.
        static T exponentials(const io& io, std::size_t n, std::array<T, C>& e, T& m) {
            m = io.x.channel(0)[n];
            for (std::size_t c = 1; c < C; ++c)
                m = io.x.channel(c)[n] > m ? io.x.channel(c)[n] : m;
            T total = 0;
            for (std::size_t c = 0; c < C; ++c) {
                e[c] = std::exp(io.x.channel(c)[n] - m);
                total += e[c];
            }
            return total;
        }

        /// y = p; with io.loss given, *io.loss = mean cross-entropy (labels required).
        /// Without io.loss (prediction) the labels are not read.
        void forward(const io& io) const {
            const bool want_loss = io.loss != nullptr;
            if (want_loss) check_labels(io);
            const std::size_t B = io.x.batch;
            std::array<T, C> e;
            double loss = 0; // a batch of per-image terms, summed in double
            for (std::size_t n = 0; n < B; ++n) {
                T m;
                const T total = exponentials(io, n, e, m);
                for (std::size_t c = 0; c < C; ++c)
                    io.y.channel(c)[n] = e[c] / total;
                if (want_loss) {
                    const std::size_t l = std::size_t(io.labels[n]);
                    // LSE − z_l = log Σ_r e_r + (m − z_l): two terms ≥ 0, so the sum
                    // cannot cancel, and no exponent is positive.
                    loss += double(std::log(total)) + double(m - io.x.channel(l)[n]);
                }
            }
            if (want_loss) *io.loss = B ? T(loss / double(B)) : T(0);
        }
        /// dx = (p − onehot)/B; io.dy is not read (the loss is the objective).
        void backward(const io& io) const {
            if (!io.dx.data) return;
            check_labels(io);
            const std::size_t B = io.x.batch;
            std::array<T, C> e;
            for (std::size_t n = 0; n < B; ++n) {
                T m;
                const T total = exponentials(io, n, e, m);
                const std::size_t l = std::size_t(io.labels[n]);
                T others = 0; // Σ_{r ≠ l} e_r: p_l − 1 = −others/total without cancellation
                for (std::size_t c = 0; c < C; ++c) {
                    io.dx.channel(c)[n] = e[c] / total / T(B);
                    if (c != l) others += e[c];
                }
                io.dx.channel(l)[n] = -others / total / T(B);
            }
        }
    };
};

/// Softmax over the class scores with the mean cross-entropy as the loss; the
/// last node of a network, fed one class index per image (io.labels).
constexpr softmax_cross_entropy_node softmax_cross_entropy() { return {}; }

} // namespace maso
