// maso/run/group_context.hpp — what one group's kernels see: its layers, their parameters,
// its buffers, the batch and the mode.
//
// The program (run/program.hpp) builds a context for each call of a group's kernel — a
// few pointers and spans — so that a kernel reads the group it runs and nothing else of
// the program. The context also derives what several kernels share: a channel's
// pointwise ops (bias, batch-norm apply, units, in the group's order), the window's math
// on lanes, the per-channel staging of parameter-gradient sums and their commit in
// channel order, and the plane buffers of the pool's threads.
//
// Staging. A pass that splits channels among threads reduces each channel's
// parameter-gradient sums (its ops' accumulators, then the window's ∂L/∂η) into the
// channel's slot of `staging`; commit() adds them to the gradients in channel order
// after the pass, so that a β shared by all channels gets the same sum whatever the
// thread count.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/plan/kernel_plan.hpp>
#include <maso/run/codes.hpp>

#include <cstddef>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

namespace maso::run {

/// The per-node slices the program keeps for every node: what a layer_io is made of.
template <class T, std::size_t N>
struct node_buffers {
    std::span<const T> params;
    std::span<T> grads, state, scratch;
    const std::array<std::size_t, N + 1>* param_offset;
    const std::array<std::size_t, N + 1>* state_offset;
    const int* labels = nullptr;
    T* loss = nullptr;
};

/// Plane buffers of the pool's threads: two planes of the largest fused window input per
/// thread, for the window passes that recompute a plane.
template <class T>
struct plane_buffers {
    T* base = nullptr;
    std::size_t size = 0, slots = 1;
    T* get(std::size_t k, std::size_t thread) const noexcept {
        return base + (2 * thread + k) * size;
    }
};

namespace detail {
/// The type of group K's chain of pointwise ops (group_context::chain_ops).
template <class P, std::size_t K, class Seq>
struct chain_of;
template <class P, std::size_t K, std::size_t... J>
struct chain_of<P, K, std::index_sequence<J...>> {
    using T = typename P::value_type;
    static constexpr maso::plan::kernel_plan strategy = P::plans[K];
    template <std::size_t I>
    using io_t =
        layer_io<typename P::template out_shape<I - 1>, typename P::template out_shape<I>, T>;
    template <std::size_t I>
    using op_t = decltype(std::declval<const typename P::template layer_t<I>&>().op(
        std::declval<const io_t<I>&>(), std::size_t{}));
    template <bool Bias, class = void>
    struct with_bias {
        using type = std::tuple<op_t<strategy.g.chain_begin + J>...>;
    };
    template <class V>
    struct with_bias<true, V> {
        using bias =
            decltype(std::declval<const typename P::template layer_t<strategy.g.begin>&>().bias(
                std::declval<const io_t<strategy.g.begin>&>(), std::size_t{}));
        using type = std::tuple<bias, op_t<strategy.g.chain_begin + J>...>;
    };
    using type = typename with_bias<strategy.bias == maso::plan::bias_kind::chain>::type;
};
template <class P, std::size_t K>
using chain_t = typename chain_of<
    P, K, std::make_index_sequence<P::plans[K].g.chain_end - P::plans[K].g.chain_begin>>::type;
} // namespace detail

template <class P, std::size_t K>
class group_context {
public:
    using T = typename P::value_type;
    using arch = typename P::arch_type;
    using blocking = kernels::gemm_blocking<arch, T>;
    static constexpr maso::plan::kernel_plan strategy = P::plans[K];
    static constexpr maso::plan::group g = strategy.g;
    static constexpr std::size_t group_index = K;
    /// The node whose output is z: the contraction, or the node before the group.
    static constexpr std::size_t zi = g.contraction ? g.begin : g.begin - 1;
    static constexpr std::size_t last = g.end - 1;
    using z_shape = typename P::template out_shape<zi>;
    using out_shape = typename P::template out_shape<last>;
    template <std::size_t I>
    using layer_t = typename P::template layer_t<I>;
    template <std::size_t I>
    using node_t = typename P::template node_t<I>;

    std::size_t batch;
    mode phase;
    const T* x = nullptr;    ///< the contraction's input (the group's input)
    T* z = nullptr;          ///< the chain's input: the contraction's output, or the group's input
    T* out = nullptr;        ///< the group's output
    T* dz = nullptr;         ///< ∂L/∂z
    const T* dout = nullptr; ///< ∂L/∂out
    T* dx = nullptr;         ///< ∂L/∂x of the contraction (null: nobody needs it)
    std::span<T> staging, tile_stats;
    plane_buffers<T> planes;
    /// Every node's codes (run/codes.hpp), indexed by node; null when none are recorded.
    const node_codes<T>* codes = nullptr;

    group_context(typename P::layers_t& layers, const node_buffers<T, P::node_count>& b,
                  std::size_t n, mode m)
        : batch(n), phase(m), layers_(layers), buffers_(b) {}

    /// Node I's layer: one of the group's.
    template <std::size_t I>
    auto& layer() const noexcept {
        static_assert(I >= g.begin && I < g.end, "a group's kernel reads its own layers");
        return maso::get<I>(layers_);
    }

    /// Node I's layer_io over the given buffers (any may be null).
    template <std::size_t I>
    auto io(const T* xi = nullptr, T* y = nullptr, const T* dy = nullptr, T* dxi = nullptr) const {
        static_assert(I >= g.begin && I < g.end);
        layer_io<typename P::template out_shape<I - 1>, typename P::template out_shape<I>, T> r;
        r.x = {xi, batch};
        if constexpr (I == 1 && P::input_edge != edge_layout::channel_major)
            r.x = {nullptr, batch}, r.x_edge = xi; // the input as the node asked for it
        r.y = {y, batch};
        r.dy = {dy, batch};
        r.dx = {dxi, batch};
        const auto& po = *buffers_.param_offset;
        const auto& so = *buffers_.state_offset;
        r.params = buffers_.params.subspan(po[I], po[I + 1] - po[I]);
        r.grads = buffers_.grads.subspan(po[I], po[I + 1] - po[I]);
        r.state = buffers_.state.subspan(so[I], so[I + 1] - so[I]);
        r.scratch = buffers_.scratch;
        r.phase = phase;
        r.labels = buffers_.labels;
        r.loss = buffers_.labels ? buffers_.loss : nullptr; // no labels: a loss only predicts
        return r;
    }

    using chain_type = detail::chain_t<P, K>;
    /// Parameter-gradient sums a channel of the chain's backward reduces.
    static constexpr std::size_t chain_sums = kernels::chain_layout_of<chain_type>::accumulators;

    /// Channel c's pointwise ops: the bias (when it is a chain op), then every node of
    /// [chain_begin, chain_end).
    chain_type chain_ops(std::size_t c) const {
        auto nodes_ops = [&]<std::size_t... J>(std::index_sequence<J...>) {
            return std::tuple{layer<g.chain_begin + J>().op(io<g.chain_begin + J>(), c)...};
        }
        (std::make_index_sequence<g.chain_end - g.chain_begin>{});
        if constexpr (strategy.bias == maso::plan::bias_kind::chain)
            return std::tuple_cat(std::tuple{layer<g.begin>().bias(io<g.begin>(), c)}, nodes_ops);
        else
            return nodes_ops;
    }

    /// Whether the group's chain has a unit, and its window a code (run/codes.hpp): the
    /// kernels instantiate their recording only then.
    static constexpr bool chain_codes = chain_has_codes<chain_type>::value;
    static constexpr bool window_codes = [] {
        if constexpr (g.window)
            return code_regions_of<typename P::template node_t<last>,
                                   typename P::template out_shape<last - 1>>() != 0;
        else
            return false;
    }();
    /// Whether that window is a whole plane (global pooling), with no K×K grid.
    static constexpr bool plane_codes = window_codes && !requires {
        P::template node_t<last>::window;
    };

    /// Where each chain op's codes go: its node's, for a unit while codes are recorded;
    /// null for the other ops (the bias, a batch-norm apply).
    auto chain_sinks() const {
        constexpr std::size_t n = std::tuple_size_v<chain_type>;
        constexpr std::size_t first = strategy.bias == maso::plan::bias_kind::chain ? 1 : 0;
        std::array<const node_codes<T>*, n> s{};
        if (codes)
            for (std::size_t i = first; i < n; ++i) {
                const node_codes<T>& c = codes[g.chain_begin + i - first];
                if (c.recorded()) s[i] = &c;
            }
        return s;
    }
    /// Where the window's codes go, or null.
    const node_codes<T>* window_sink() const {
        if constexpr (window_codes)
            if (codes && codes[last].recorded()) return &codes[last];
        return nullptr;
    }

    /// Channel c's bias when it is added to z before a batch norm.
    T bias_before_norm(std::size_t c) const { return layer<g.begin>().bias(io<g.begin>(), c).b; }

    /// The window's math on lanes for (output) channel c.
    auto lanes(std::size_t c) const { return layer<last>().lanes(io<last>(), c); }

    /// The columns of z per channel after a forward in this context's mode.
    std::size_t z_columns(kernels::patch_order order) const {
        if constexpr (g.contraction)
            return layer<g.begin>().columns(batch, order);
        else
            return batch * z_shape::plane;
    }
    T* z_channel(std::size_t c) const noexcept { return z + c * batch * z_shape::plane; }

    /// Commits the staged sums of `channels` channels in channel order: each channel's
    /// chain sums, and with `window_sums` the window's ∂L/∂η staged after them (for a
    /// channel window, in its first input channel's slot).
    void commit(std::size_t channels, bool window_sums) const {
        constexpr std::size_t n = chain_sums;
        for (std::size_t c = 0; c < channels; ++c) {
            const T* sums = staging.data() + c * (n + 1);
            kernels::chain_commit(chain_ops(c), sums);
            if constexpr (g.window && !g.channel_window) {
                auto& w = layer<last>();
                const auto wio = io<last>();
                if constexpr (requires { w.commit_planes(wio, c, sums[n]); })
                    if (window_sums) w.commit_planes(wio, c, sums[n]);
            }
            if constexpr (g.channel_window) {
                constexpr std::size_t R = strategy.channel_group;
                auto& w = layer<last>();
                if constexpr (requires { w.beta; })
                    if (window_sums && c % R == 0) {
                        const auto wio = io<last>();
                        w.beta.add_gradient(wio.grads, c / R, sums[n], w.lanes(wio, c / R).eta);
                    }
            }
        }
    }

private:
    typename P::layers_t& layers_;
    node_buffers<T, P::node_count> buffers_; // a few spans and pointers: copied
};

} // namespace maso::run
