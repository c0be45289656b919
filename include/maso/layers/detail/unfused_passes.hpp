// maso/layers/detail/unfused_passes.hpp — a layer's own forward and backward, derived from
// what the fusion planner calls.
//
// Internal to the layers; users include those. expr/node.hpp asks
//   an elementwise or normalization layer   op(io, c): channel c's closed form as a pointwise
//                                           op (kernels/pointwise_chain.hpp)
//   a fusable window layer                  forward_planes(io, c, in, out, planes) and
//                                           backward_planes(io, c, in, dout, din, planes)
//                                           → ∂L/∂η on consecutive planes of channel c, and,
//                                           with a β, commit_planes(io, c, ∂L/∂η)
// and the planner runs those inside fused groups (plan/lower.hpp). A layer that inherits
// unfused_passes<layer> gets from them the forward(io) and backward(io) it runs alone with
// (fuse::none, the baseline the fused plan is measured against): one vectorised pass per
// channel, over its batch·H·W values (the op) or its batch planes (the window), the channels
// split among the pool's threads as the fused passes split them (core/thread_pool.hpp).
//
// backward adds the parameter gradients and overwrites dx; with dx null (nobody needs it) it
// computes the parameter gradients only, and nothing at all for a layer without parameters.
// A parameter may be shared by every channel (a learnable β per layer), so each channel's
// sums are staged in io.scratch (staging_size() values: a layer with parameters returns it
// from scratch_size) and committed in channel order once the pass is done: the gradients do
// not depend on the thread count. backward_channel(io, c) is one channel's part committed at
// once, for a layer whose every parameter belongs to one channel and which adds a term after
// it (batch_norm's batch statistics).
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/expr/node.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/simd/batch_loop.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace maso::detail {

/// A layer that works plane by plane (a fusable window) rather than through an op.
template <class Layer, class In, class Out, class T>
concept plane_layer = requires(const Layer& l, const layer_io<In, Out, T>& io, const T* in,
                               T* out) {
    l.forward_planes(io, std::size_t{0}, in, out, std::size_t{1});
};

template <class Layer>
struct unfused_passes {
    template <class In, class Out, class T>
    void forward(const layer_io<In, Out, T>& io) const {
        parallel_for(In::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
            for (std::size_t c = c0; c < c1; ++c)
                if constexpr (plane_layer<Layer, In, Out, T>)
                    self().forward_planes(io, c, io.x.channel(c), io.y.channel(c), io.x.batch);
                else
                    kernels::chain_forward(xsimd::default_arch{}, std::tuple{self().op(io, c)},
                                           io.x.channel(c), io.y.channel(c),
                                           io.x.batch * In::plane);
        });
    }

    template <class In, class Out, class T>
    void backward(const layer_io<In, Out, T>& io) const {
        const bool parameters = self().parameter_count() != 0;
        if (!io.dx.data && !parameters) return;
        constexpr std::size_t n_acc = sums_per_channel<In, Out, T>();
        if (!parameters) {
            parallel_for(In::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
                for (std::size_t c = c0; c < c1; ++c)
                    channel_sums(io, c);
            });
            return;
        }
        if (io.scratch.size() < In::channels * n_acc)
            throw error("maso: a layer's backward needs scratch_size() values of scratch for "
                        "its per-channel gradient sums");
        T* const staged = io.scratch.data();
        parallel_for(In::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
            for (std::size_t c = c0; c < c1; ++c) {
                const auto sums = channel_sums(io, c);
                std::copy_n(sums.data(), n_acc, staged + c * n_acc);
            }
        });
        for (std::size_t c = 0; c < In::channels; ++c)
            commit(io, c, staged + c * n_acc);
    }

    /// Channel c's backward, its parameter gradients committed at once: for layers whose
    /// parameters are all per channel, where two threads never share one.
    template <class In, class Out, class T>
    void backward_channel(const layer_io<In, Out, T>& io, std::size_t c) const {
        commit(io, c, channel_sums(io, c).data());
    }

    /// Values of scratch backward stages: one per parameter-gradient sum and channel.
    std::size_t staging_size() const {
        using io_t = typename Layer::io;
        return channels_of(static_cast<const io_t*>(nullptr)) *
               sums_per_channel_of(static_cast<const io_t*>(nullptr));
    }

private:
    const Layer& self() const noexcept { return static_cast<const Layer&>(*this); }

    template <class In, class Out, class T>
    static constexpr std::size_t channels_of(const layer_io<In, Out, T>*) {
        return In::channels;
    }
    template <class In, class Out, class T>
    static constexpr std::size_t sums_per_channel_of(const layer_io<In, Out, T>*) {
        return sums_per_channel<In, Out, T>();
    }
    /// A window's ∂L/∂η, or the sums its op's backward keeps.
    template <class In, class Out, class T>
    static constexpr std::size_t sums_per_channel() {
        if constexpr (plane_layer<Layer, In, Out, T>)
            return 1;
        else
            return std::decay_t<decltype(std::declval<const Layer&>().op(
                std::declval<const layer_io<In, Out, T>&>(), std::size_t{0}))>::accumulators;
    }

    /// Channel c's backward pass: writes its dx (when wanted) and returns its sums.
    template <class In, class Out, class T>
    auto channel_sums(const layer_io<In, Out, T>& io, std::size_t c) const {
        if constexpr (plane_layer<Layer, In, Out, T>) {
            return std::array<T, 1>{self().backward_planes(io, c, io.x.channel(c), io.dy.channel(c),
                                                           io.dx.data ? io.dx.channel(c) : nullptr,
                                                           io.x.batch)};
        } else {
            const auto o = self().op(io, c);
            const std::size_t n = io.x.batch * In::plane;
            if (io.dx.data)
                return kernels::chain_backward_sums(xsimd::default_arch{}, std::tuple{o},
                                                    io.x.channel(c), io.dy.channel(c),
                                                    io.dx.channel(c), n);
            // Nobody needs dx: reduce the op's parameter gradients only.
            return simd::fused_loop<std::remove_const_t<decltype(o)>::accumulators>(
                xsimd::default_arch{}, n,
                std::array<const T*, 2>{io.x.channel(c), io.dy.channel(c)}, std::array<T*, 0>{},
                [&o](const auto& in, auto& acc) {
                    o.backward(in[0], in[1], acc.data());
                    return std::array<std::decay_t<decltype(in[0])>, 0>{};
                });
        }
    }

    template <class In, class Out, class T>
    void commit(const layer_io<In, Out, T>& io, std::size_t c, const T* sums) const {
        if constexpr (plane_layer<Layer, In, Out, T>) {
            if constexpr (requires { self().commit_planes(io, c, sums[0]); })
                self().commit_planes(io, c, sums[0]);
        } else {
            self().op(io, c).commit(sums);
        }
    }
};

} // namespace maso::detail
