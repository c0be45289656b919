// maso/layers/detail/unfused_passes.hpp — a layer's own forward and backward, derived from
// what the fusion planner calls.
//
// Internal to the layers; users include those. expr/node.hpp asks
//   an elementwise or normalization layer   op(io, c): channel c's closed form as a pointwise
//                                           op (kernels/pointwise_chain.hpp)
//   a fusable window layer                  forward_plane(io, c, in, out) and
//                                           backward_plane(io, c, in, dout, din) on one
//                                           image's plane of channel c
// and the planner runs those inside fused groups (run/program.hpp). A layer that inherits
// unfused_passes<layer> gets from them the forward(io) and backward(io) it runs alone with:
// the op over each channel's batch·H·W values in one run, or the plane functions over every
// channel and image. backward adds the parameter gradients and overwrites dx; with dx null
// (nobody needs it) it computes the parameter gradients only, and nothing at all for a layer
// without parameters. backward_channel(io, c) is one channel's part, for a layer that adds a
// term after it (batch_norm's batch statistics).
#pragma once

#include <maso/expr/node.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/simd/batch_loop.hpp>

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>

namespace maso::detail {

/// A layer that works plane by plane (a fusable window) rather than through an op.
template <class Layer, class In, class Out, class T>
concept plane_layer = requires(const Layer& l, const layer_io<In, Out, T>& io, const T* in,
                               T* out) {
    l.forward_plane(io, std::size_t{0}, in, out);
};

template <class Layer>
struct unfused_passes {
    template <class In, class Out, class T>
    void forward(const layer_io<In, Out, T>& io) const {
        for (std::size_t c = 0; c < In::channels; ++c)
            if constexpr (plane_layer<Layer, In, Out, T>)
                for (std::size_t n = 0; n < io.x.batch; ++n)
                    self().forward_plane(io, c, io.x.plane(c, n), io.y.plane(c, n));
            else
                kernels::chain_forward(xsimd::default_arch{}, std::tuple{self().op(io, c)},
                                       io.x.channel(c), io.y.channel(c), io.x.batch * In::plane);
    }

    template <class In, class Out, class T>
    void backward(const layer_io<In, Out, T>& io) const {
        if (!io.dx.data && self().parameter_count() == 0) return;
        for (std::size_t c = 0; c < In::channels; ++c)
            backward_channel(io, c);
    }

    template <class In, class Out, class T>
    void backward_channel(const layer_io<In, Out, T>& io, std::size_t c) const {
        if constexpr (plane_layer<Layer, In, Out, T>) {
            for (std::size_t n = 0; n < io.x.batch; ++n)
                self().backward_plane(io, c, io.x.plane(c, n), io.dy.plane(c, n),
                                      io.dx.data ? io.dx.plane(c, n) : nullptr);
        } else {
            const auto o = self().op(io, c);
            const std::size_t n = io.x.batch * In::plane;
            if (io.dx.data) {
                kernels::chain_backward(xsimd::default_arch{}, std::tuple{o}, io.x.channel(c),
                                        io.dy.channel(c), io.dx.channel(c), n);
                return;
            }
            // Nobody needs dx: reduce the op's parameter gradients only.
            const auto sums = simd::fused_loop<std::remove_const_t<decltype(o)>::accumulators>(
                xsimd::default_arch{}, n,
                std::array<const T*, 2>{io.x.channel(c), io.dy.channel(c)}, std::array<T*, 0>{},
                [&o](const auto& in, auto& acc) {
                    o.backward(in[0], in[1], acc.data());
                    return std::array<std::decay_t<decltype(in[0])>, 0>{};
                });
            o.commit(sums.data());
        }
    }

private:
    const Layer& self() const noexcept { return static_cast<const Layer&>(*this); }
};

} // namespace maso::detail
