// maso/run/channel_window.hpp — a channel window (maxout<R>) after a contraction, as one pass
// over z per output channel (plan then_kind::channel_window), forward and backward.
//
// Output channel o pools input channels oR … oR + R − 1 pointwise along the columns: one
// pass over z (natural order) runs the R chains and the window across them lane-wise, with
// no plane buffer. Output channels are split among the threads. Backward recomputes the
// chains in registers, runs the window's backward across them and the chains' backward;
// each input channel's sums go to its staging slot, the window's ∂L/∂η to the first's
// (committed in channel order by the context: the same sums for any thread count). The
// tail's padded lanes have dy = 0 and add nothing.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/run/codes.hpp>
#include <maso/run/group_context.hpp>
#include <maso/simd/batch_loop.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace maso::run {

namespace detail {
/// The chains of output channel o's R input channels.
template <class Ctx>
auto channel_window_ops(const Ctx& ctx, std::size_t o) {
    constexpr std::size_t R = Ctx::strategy.channel_group;
    return [&]<std::size_t... J>(std::index_sequence<J...>) {
        return std::array<typename Ctx::chain_type, R>{ctx.chain_ops(o * R + J)...};
    }
    (std::make_index_sequence<R>{});
}
} // namespace detail

/// Output channel o's pass recording the codes: each member channel's units, then the
/// channel chosen (and the members' posteriors, when they are recorded), at column j of the
/// natural order (the body counts its columns).
template <class Ctx, class Ops, class Lanes, class In>
void coded_channel_window(const Ctx& ctx, std::size_t o, const Ops& ops, const Lanes& lanes,
                          const In& in, std::size_t n) {
    using T = typename Ctx::T;
    constexpr std::size_t R = Ctx::strategy.channel_group;
    const auto sinks = ctx.chain_sinks();
    const node_codes<T>* window = ctx.window_sink();
    std::size_t j = 0;
    simd::fused_loop(
        typename Ctx::arch{}, n, in, std::array<T*, 1>{ctx.out + o * n}, [&](const auto& v, auto&) {
            using V = std::decay_t<decltype(v[0])>;
            constexpr std::size_t W = node_codes<T>::template lanes_of<V>;
            const std::size_t valid = std::min(W, n - j);
            auto u = v;
            for (std::size_t r = 0; r < R; ++r)
                u[r] = coded_chain_value(ops[r], sinks, v[r], o * R + r, j, valid);
            if (window) {
                window->put(o, j, first_max_index<R>(u), valid);
                if (window->posteriors)
                    window->put_posteriors(o, j, lanes.template posteriors<R>(u), valid);
            }
            j += W;
            return std::array{lanes.template forward<R>(u)};
        });
}

template <class Ctx>
void channel_window_forward(const Ctx& ctx) {
    using T = typename Ctx::T;
    constexpr std::size_t R = Ctx::strategy.channel_group;
    const std::size_t n = ctx.batch * Ctx::z_shape::plane;
    parallel_for(Ctx::out_shape::channels, [&](std::size_t o0, std::size_t o1, std::size_t) {
        for (std::size_t o = o0; o < o1; ++o) {
            const auto ops = detail::channel_window_ops(ctx, o);
            const auto lanes = ctx.lanes(o);
            std::array<const T*, R> in;
            for (std::size_t r = 0; r < R; ++r)
                in[r] = ctx.z + (o * R + r) * n;
            if constexpr (Ctx::chain_codes || Ctx::window_codes)
                if (ctx.codes) {
                    coded_channel_window(ctx, o, ops, lanes, in, n);
                    continue;
                }
            simd::fused_loop(typename Ctx::arch{}, n, in, std::array<T*, 1>{ctx.out + o * n},
                             [ops, lanes](const auto& v, auto&) {
                                 constexpr std::size_t R = Ctx::strategy.channel_group;
                                 auto u = v;
                                 for (std::size_t r = 0; r < R; ++r)
                                     u[r] = kernels::chain_value(ops[r], v[r]);
                                 return std::array{lanes.template forward<R>(u)};
                             });
        }
    });
}

template <class Ctx>
void channel_window_backward(const Ctx& ctx) {
    using T = typename Ctx::T;
    constexpr std::size_t R = Ctx::strategy.channel_group, n_acc = Ctx::chain_sums;
    const std::size_t n = ctx.batch * Ctx::z_shape::plane;
    parallel_for(Ctx::out_shape::channels, [&](std::size_t o0, std::size_t o1, std::size_t) {
        for (std::size_t o = o0; o < o1; ++o) {
            const auto ops = detail::channel_window_ops(ctx, o);
            const auto lanes = ctx.lanes(o);
            std::array<const T*, R + 1> in;
            std::array<T*, R> outs;
            for (std::size_t r = 0; r < R; ++r) {
                in[r] = ctx.z + (o * R + r) * n;
                outs[r] = ctx.dz + (o * R + r) * n;
            }
            in[R] = ctx.dout + o * n;
            const auto sums = simd::fused_loop<R * n_acc + 1>(
                typename Ctx::arch{}, n, in, outs, [ops, lanes](const auto& v, auto& acc) {
                    constexpr std::size_t R = Ctx::strategy.channel_group, n_acc = Ctx::chain_sums;
                    using V = std::decay_t<decltype(v[0])>;
                    std::array<V, R> u, du, dzr;
                    for (std::size_t r = 0; r < R; ++r)
                        u[r] = kernels::chain_value(ops[r], v[r]);
                    acc[R * n_acc] += lanes.template backward<R>(u, v[R], du);
                    for (std::size_t r = 0; r < R; ++r)
                        dzr[r] =
                            kernels::chain_gradient(ops[r], v[r], du[r], acc.data() + r * n_acc);
                    return dzr;
                });
            for (std::size_t r = 0; r < R; ++r) {
                T* slot = ctx.staging.data() + (o * R + r) * (n_acc + 1);
                std::copy_n(sums.data() + r * n_acc, n_acc, slot);
                if (r == 0) slot[n_acc] = sums[R * n_acc];
            }
        }
    });
    ctx.commit(Ctx::z_shape::channels, true);
}

} // namespace maso::run
