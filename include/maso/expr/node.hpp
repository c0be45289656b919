// maso/expr/node.hpp — what every node of a network provides.
//
// A node is a small value type: its compile-time configuration is in template
// arguments (sizes, kernel, stride, padding, unit), its run-time configuration
// (an initial β, a leaky slope) in members. It publishes metadata the planner
// reads and a `layer<In>` that runs it for a given input shape:
//
//   static constexpr node_kind kind;
//   static std::string name(const N&);                 // "conv2d<96, 3, stride 2, same>"
//   template <class In> static consteval diag check(); // diag::ok or an E-code
//   template <class In> using output_shape = shape<…>; // only read when check is ok
//   template <class In, class T> struct layer {       // In: input shape; T: float or double
//       using output = output_shape<In>;
//       explicit layer(const N&);
//       std::size_t parameter_count() const;           // values of parameters
//       std::size_t state_size(std::size_t batch) const;   // kept from forward to backward
//       std::size_t scratch_size(std::size_t batch) const; // reused freely inside a call
//       void initialize(std::span<T> params, init_context&) const;
//       void forward(const layer_io<In, output, T>&) const;
//       void backward(const layer_io<In, output, T>&) const; // see below for a null io.dx
//   };
//
// Models run in float; every layer also runs in double so that gradient checks
// by central differences have the precision they need. The common answers (check ok
// and output_shape = In; no state or scratch; no parameters) are empty bases in
// expr/node_defaults.hpp.
//
// What the fusion planner (plan/lower.hpp) needs in addition, by kind:
//   contraction    forward_affine(io) (y = W x, no bias), backward_affine(io)
//                  (dW += …, dx = …; io.dy is ∂L/∂z), has_bias, bias(io, c) → bias_op;
//                  optionally input_edge and input_padding: how it would rather read
//                  the network's input when it is the first node (edge_layout below)
//   elementwise    op(io, c): channel c's closed form as a pointwise op
//                  (kernels/pointwise_chain.hpp)
//   window         fusable: true for windows inside one H×W plane (pooling);
//                  forward_planes(io, c, in, out, planes) and
//                  backward_planes(io, c, in, dout, din, planes) → ∂L/∂η on consecutive
//                  planes of channel c (din overwritten), and with a β
//                  commit_planes(io, c, ∂L/∂η), which adds its gradient;
//                  or channel_window: true for a window across consecutive channels
//                  (maxout<K>), fused after a contraction; lanes(io, c) gives either
//                  kind's window math on SIMD lanes (layers/detail/window_lanes.hpp)
//   normalization  statistics(io) (per-channel statistics of io.x into io.state;
//                  training: batch statistics, evaluation: running ones),
//                  op(io, c) → its affine apply as a pointwise op,
//                  correct(io, c, x_channel, dx_channel, n): the batch-statistics
//                  term of the gradient, after the chain's backward; the
//                  normalization op must come first in its chain (x̂ is
//                  computed from the node's own input)
//
// Parameter gradients are ACCUMULATED (+=) by backward, so gradients of shared
// parameters and of several batches add up; activation gradients (dx) are
// overwritten. io.dx.data is null only for a contraction whose input is the
// network's input and whose input gradient nobody asked for.
#pragma once

#include <maso/core/diagnostics.hpp>
#include <maso/core/shape.hpp>
#include <maso/core/tensor.hpp>
#include <maso/core/weight_init.hpp>

#include <cstddef>
#include <random>
#include <span>
#include <string>

namespace maso {

enum class node_kind {
    input,         ///< input<C, H, W>: gives the first shape, no computation
    contraction,   ///< dense, conv2d: an affine map, the head of a fused group
    elementwise,   ///< a spline unit or soft output applied to each value
    window,        ///< pooling over a spatial window or a channel group
    normalization, ///< batch norm: per-channel statistics, then an affine map
    reshape,       ///< flatten: moves values, computes nothing
    loss,          ///< softmax_cross_entropy: the last node
};

constexpr const char* to_string(node_kind k) noexcept {
    switch (k) {
    case node_kind::input:
        return "input";
    case node_kind::contraction:
        return "contraction";
    case node_kind::elementwise:
        return "elementwise";
    case node_kind::window:
        return "window";
    case node_kind::normalization:
        return "normalization";
    case node_kind::reshape:
        return "reshape";
    case node_kind::loss:
        return "loss";
    }
    return "?";
}

/// How the network's input is stored for the node that reads it first. Inside, maso's
/// activations are channel-major; images arrive as [N][C][H][W], and the conversion
/// at the edge is one pass over them whatever it writes. A contraction may ask for
/// what its product reads instead (its node's `input_edge`): a padding convolution
/// the planes zero-padded by its `input_padding` (its packers read nothing else, so it
/// then pads nothing, forward or backward), a dense layer the images as given (its
/// product reads them as a transposed operand, and the conversion is a copy). The
/// node then gets them as layer_io::x_edge, with x.data null.
enum class edge_layout { channel_major, padded, images };

/// Whether batch norm uses batch statistics (and updates its running ones) or
/// the running statistics.
enum class mode { training, evaluation };

/// Everything a layer call sees. x, y are the layer's input and output; dx, dy
/// their gradients (backward only; dx null when nobody needs it). params and
/// grads are the layer's slices of the model's parameter and gradient buffers;
/// state persists from forward to backward; scratch is free for the call.
template <class In, class Out, class T = float>
struct layer_io {
    activation<In, const T> x;
    /// x, the network's input, in the node's input_edge layout when that is not
    /// channel-major (x.data is then null); otherwise null.
    const T* x_edge = nullptr;
    activation<Out, T> y;
    activation<Out, const T> dy;
    activation<In, T> dx;
    std::span<const T> params;
    std::span<T> grads;
    std::span<T> state;
    std::span<T> scratch;
    mode phase = mode::training;
    const int* labels = nullptr; ///< loss nodes: one class index per image
    T* loss = nullptr;           ///< loss nodes: where forward writes the mean loss
};

} // namespace maso
