// maso/run/plane_window.hpp — a group's chain and pooling window, plane by plane (plan
// then_kind::planes), forward and backward.
//
// When the register tiles cannot hold the window (or the group has no contraction), each
// H×W plane of z goes through the chain into a plane buffer of the thread, and the window
// layer pools the buffer into the output. Backward recomputes the plane the same way, runs
// the window's backward on it and the chain's backward, reducing the chain's
// parameter-gradient sums over the channel's planes; a batch norm's commit then stores the
// channel's Σ dy·x̂ and Σ dy for its correction. Channels are split among the threads,
// each with its two plane buffers.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/run/group_context.hpp>

#include <algorithm>
#include <array>
#include <cstddef>

namespace maso::run {

namespace detail {
/// f(c, t) for every channel c < channels, split among the pool's threads (t: the thread,
/// whose plane buffers f may use); on the caller alone if the pool has grown past the
/// threads the buffers were made for, or when `split` is false (a window whose channels add
/// into one shared parameter gradient).
template <class T, class F>
void for_each_channel_with_planes(const plane_buffers<T>& planes, std::size_t channels, F&& f,
                                  bool split = true) {
    if (!split || num_threads() > planes.slots) {
        for (std::size_t c = 0; c < channels; ++c)
            f(c, std::size_t{0});
        return;
    }
    parallel_for(channels, [&](std::size_t c0, std::size_t c1, std::size_t t) {
        for (std::size_t c = c0; c < c1; ++c)
            f(c, t);
    });
}
} // namespace detail

template <class Ctx>
void planes_forward(const Ctx& ctx) {
    using T = typename Ctx::T;
    using S = typename Ctx::z_shape;
    using O = typename Ctx::out_shape;
    auto& w = ctx.template layer<Ctx::last>();
    const auto wio = ctx.template io<Ctx::last>(nullptr, ctx.out);
    detail::for_each_channel_with_planes(ctx.planes, S::channels, [&](std::size_t c,
                                                                      std::size_t t) {
        T* buf = ctx.planes.get(0, t);
        for (std::size_t n = 0; n < ctx.batch; ++n) {
            const T* zin = ctx.z + (c * ctx.batch + n) * S::plane;
            T* o = ctx.out + (c * ctx.batch + n) * O::plane;
            if constexpr (Ctx::strategy.chain) {
                kernels::chain_forward(typename Ctx::arch{}, ctx.chain_ops(c), zin, buf, S::plane);
                w.forward_plane(wio, c, buf, o);
            } else {
                w.forward_plane(wio, c, zin, o);
            }
        }
    });
}

template <class Ctx>
void planes_backward(const Ctx& ctx) {
    using T = typename Ctx::T;
    using S = typename Ctx::z_shape;
    using O = typename Ctx::out_shape;
    constexpr std::size_t n_acc = Ctx::chain_sums;
    auto& w = ctx.template layer<Ctx::last>();
    const auto wio = ctx.template io<Ctx::last>();
    // The window adds its parameter gradient (a β) itself: the channels are split only
    // when each has its own (none, or one per channel).
    const std::size_t window_params = w.parameter_count();
    const bool own_gradients = window_params == 0 || window_params == S::channels;
    detail::for_each_channel_with_planes(
        ctx.planes, S::channels,
        [&](std::size_t c, std::size_t t) {
            T* buf = ctx.planes.get(0, t);
            T* dbuf = ctx.planes.get(1, t);
            [[maybe_unused]] std::array<T, n_acc + 1> sums{};
            for (std::size_t n = 0; n < ctx.batch; ++n) {
                const T* zin = ctx.z + (c * ctx.batch + n) * S::plane;
                const T* d = ctx.dout + (c * ctx.batch + n) * O::plane;
                T* dzp = ctx.dz + (c * ctx.batch + n) * S::plane;
                if constexpr (Ctx::strategy.chain) {
                    const auto ops = ctx.chain_ops(c);
                    kernels::chain_forward(typename Ctx::arch{}, ops, zin, buf, S::plane);
                    w.backward_plane(wio, c, buf, d, dbuf);
                    const auto s = kernels::chain_backward_sums(typename Ctx::arch{}, ops, zin,
                                                                dbuf, dzp, S::plane);
                    for (std::size_t a = 0; a < n_acc; ++a)
                        sums[a] += s[a];
                } else {
                    w.backward_plane(wio, c, zin, d, dzp);
                }
            }
            std::copy_n(sums.data(), n_acc, ctx.staging.data() + c * (n_acc + 1));
        },
        own_gradients);
    if constexpr (Ctx::strategy.chain) ctx.commit(S::channels, false);
}

} // namespace maso::run
