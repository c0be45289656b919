// maso/run/plane_window.hpp — a group's chain and pooling window, plane by plane (plan
// then_kind::planes), forward and backward.
//
// When the register tiles cannot hold the window (or the group has no contraction), each
// H×W plane of z goes through the chain into a plane buffer of the thread, and the window
// layer pools the buffer into the output. Backward recomputes the plane the same way, runs
// the window's backward on it and the chain's backward, reducing the chain's
// parameter-gradient sums and the window's ∂L/∂η over the channel's planes; a batch norm's
// commit then stores the channel's Σ dy·x̂ and Σ dy for its correction. Channels are split
// among the threads, each with its two plane buffers. Without a chain, a channel's planes
// are consecutive in z and the window runs over all of them in one pass.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/layers/detail/window_pass.hpp>
#include <maso/run/codes.hpp>
#include <maso/run/group_context.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace maso::run {

namespace detail {
/// f(c, t) for every channel c < channels, split among the pool's threads (t: the thread,
/// whose plane buffers f may use); on the caller alone if the pool has grown past the
/// threads the buffers were made for.
template <class T, class F>
void for_each_channel_with_planes(const plane_buffers<T>& planes, std::size_t channels, F&& f) {
    if (num_threads() > planes.slots) {
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

/// A K×K window layer's forward_planes (maxpool, softpool) over `planes` planes of channel
/// c — layers/detail/window_pass.hpp's loop on the channel's lanes — that also records each
/// window's code, its first maximum, at row c from column col on (and its posteriors, when
/// they are recorded). The loop owns the words of bits: 64 / W batches of windows fill one in
/// registers, at constant shifts, and it is or-ed into the row once; the windows past the
/// last whole word fill one more.
template <class Ctx, std::size_t K, class Layer, class Io, class T>
void coded_window_pass(const Layer& w, const Io& wio, const node_codes<T>& sink, std::size_t c,
                       const T* in, T* out, std::size_t col, std::size_t planes) {
    using grid = maso::detail::window_grid<typename Ctx::z_shape, K, T, typename Ctx::arch>;
    using batch = typename grid::batch;
    constexpr std::size_t W = grid::W, R = grid::R, P = std::bit_width(R - 1), G = 64 / W;
    static_assert(64 % W == 0, "a word holds whole batches of windows");
    const auto lanes = w.lanes(wio, c);
    using words_t = std::array<std::uint64_t, P>;
    // Hard or not is decided once, outside the loop: with the choice inside it, smallCNN's
    // training forward with codes took 1.08× the plain one, against 1.04–1.06× this way.
    auto pass = [&]<bool Hard>(std::bool_constant<Hard>) {
        // The windows of one batch, from window `first`: their output, their codes or-ed into
        // words at `shift`, and their posteriors when they are recorded.
        auto windows = [&](const std::array<batch, R>& v, words_t& words, std::size_t shift,
                           std::size_t first, std::size_t valid) {
            batch best;
            const auto bits = first_max_bits<P>(v, best);
            for (std::size_t q = 0; q < P; ++q)
                words[q] |= bits[q] << shift;
            if (sink.posteriors)
                sink.put_posteriors(c, col + first, lanes.template posteriors<R>(v), valid);
            if constexpr (Hard)
                return best;
            else
                return lanes.template forward<R>(v);
        };
        auto put = [&](const words_t& words, std::size_t w0) {
            for (std::size_t q = 0; q < P; ++q)
                sink.put_bits(c * P + q, col + w0, words[q]);
        };
        const std::size_t n = grid::windows(planes), full = n - n % W;
        std::size_t w0 = 0;
        for (; w0 + 64 <= full; w0 += 64) {
            words_t words{};
            for (std::size_t g = 0; g < G; ++g)
                windows(grid::gather(in, w0 + g * W), words, g * W, w0 + g * W, W)
                    .store_unaligned(out + w0 + g * W);
            put(words, w0);
        }
        if (w0 == n) return;
        words_t words{};
        for (std::size_t v0 = w0; v0 < full; v0 += W)
            windows(grid::gather(in, v0), words, v0 - w0, v0, W).store_unaligned(out + v0);
        if (full != n) { // the zero-padded last batch: its padding lanes' bits are dropped
            const batch y =
                windows(grid::gather_tail(in, full, n - full), words, full - w0, full, n - full);
            grid::store_tail(y, out + full, n - full);
            const std::uint64_t keep = (std::uint64_t(1) << (n - w0)) - 1; // n − w0 < 64
            for (auto& word : words)
                word &= keep;
        }
        put(words, w0);
    };
    if (lanes.hard)
        pass(std::true_type{});
    else
        pass(std::false_type{});
}

template <class Ctx>
void planes_forward(const Ctx& ctx) {
    using T = typename Ctx::T;
    using S = typename Ctx::z_shape;
    using O = typename Ctx::out_shape;
    auto& w = ctx.template layer<Ctx::last>();
    const auto wio = ctx.template io<Ctx::last>(nullptr, ctx.out);
    // The codes of the units (in the chain) and of the window, when they are recorded.
    [[maybe_unused]] const auto sinks = ctx.chain_sinks();
    [[maybe_unused]] const node_codes<T>* window = ctx.window_sink();
    [[maybe_unused]] constexpr std::size_t K = [] {
        if constexpr (Ctx::window_codes && !Ctx::plane_codes)
            return Ctx::template node_t<Ctx::last>::window;
        else
            return std::size_t{0};
    }();
    detail::for_each_channel_with_planes(
        ctx.planes, S::channels, [&](std::size_t c, std::size_t t) {
            const T* zc = ctx.z + c * ctx.batch * S::plane;
            T* oc = ctx.out + c * ctx.batch * O::plane;
            if constexpr (Ctx::strategy.chain) {
                T* buf = ctx.planes.get(0, t);
                for (std::size_t n = 0; n < ctx.batch; ++n) {
                    if constexpr (Ctx::chain_codes) {
                        if (ctx.codes)
                            coded_chain_forward(typename Ctx::arch{}, ctx.chain_ops(c), sinks, c,
                                                n * S::plane, zc + n * S::plane, buf, S::plane);
                        else
                            kernels::chain_forward(typename Ctx::arch{}, ctx.chain_ops(c),
                                                   zc + n * S::plane, buf, S::plane);
                    } else {
                        kernels::chain_forward(typename Ctx::arch{}, ctx.chain_ops(c),
                                               zc + n * S::plane, buf, S::plane);
                    }
                    if constexpr (Ctx::plane_codes) {
                        if (window)
                            record_plane_maxima(*window, c, buf, S::plane, n, 1,
                                                w.beta.of(wio.params, c));
                    } else if constexpr (Ctx::window_codes) {
                        if (window) { // the window pass, recording each window's member
                            coded_window_pass<Ctx, K>(w, wio, *window, c, buf, oc + n * O::plane,
                                                      n * O::plane, 1);
                            continue;
                        }
                    }
                    w.forward_planes(wio, c, buf, oc + n * O::plane, 1);
                }
            } else { // the channel's planes are consecutive: one pass over them
                if constexpr (Ctx::plane_codes) {
                    if (window)
                        record_plane_maxima(*window, c, zc, S::plane, 0, ctx.batch,
                                            w.beta.of(wio.params, c));
                } else if constexpr (Ctx::window_codes) {
                    if (window) {
                        coded_window_pass<Ctx, K>(w, wio, *window, c, zc, oc, 0, ctx.batch);
                        return;
                    }
                }
                w.forward_planes(wio, c, zc, oc, ctx.batch);
            }
        });
}

/// A channel's parameter-gradient sums, and the window's ∂L/∂η, are added over its planes
/// and staged, then committed in channel order: a β shared by the window or the chain gets
/// the same sum for any thread count.
template <class Ctx>
void planes_backward(const Ctx& ctx) {
    using T = typename Ctx::T;
    using S = typename Ctx::z_shape;
    using O = typename Ctx::out_shape;
    constexpr std::size_t n_acc = Ctx::chain_sums;
    auto& w = ctx.template layer<Ctx::last>();
    const auto wio = ctx.template io<Ctx::last>();
    detail::for_each_channel_with_planes(
        ctx.planes, S::channels, [&](std::size_t c, std::size_t t) {
            std::array<T, n_acc + 1> sums{};
            const T* zc = ctx.z + c * ctx.batch * S::plane;
            const T* dc = ctx.dout + c * ctx.batch * O::plane;
            T* dzc = ctx.dz + c * ctx.batch * S::plane;
            if constexpr (Ctx::strategy.chain) {
                T* buf = ctx.planes.get(0, t);
                T* dbuf = ctx.planes.get(1, t);
                const auto ops = ctx.chain_ops(c);
                for (std::size_t n = 0; n < ctx.batch; ++n) {
                    const T* zin = zc + n * S::plane;
                    kernels::chain_forward(typename Ctx::arch{}, ops, zin, buf, S::plane);
                    sums[n_acc] += w.backward_planes(wio, c, buf, dc + n * O::plane, dbuf, 1);
                    const auto s = kernels::chain_backward_sums(typename Ctx::arch{}, ops, zin,
                                                                dbuf, dzc + n * S::plane, S::plane);
                    for (std::size_t a = 0; a < n_acc; ++a)
                        sums[a] += s[a];
                }
            } else { // the channel's planes are consecutive: one pass over them
                sums[n_acc] = w.backward_planes(wio, c, zc, dc, dzc, ctx.batch);
            }
            std::copy_n(sums.data(), n_acc + 1, ctx.staging.data() + c * (n_acc + 1));
        });
    ctx.commit(S::channels, true);
}

} // namespace maso::run
