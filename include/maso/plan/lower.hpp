// maso/plan/lower.hpp — pass 6: the plan turned into a program.
//
// program<Net, Policy, T> owns every layer, the parameter, gradient, state and
// scratch buffers and the activations the plan materialises, all allocated once
// in the constructor; forward() and backward() then run one kernel per group,
// in order and in reverse, chosen at compile time — no tape, no virtual call,
// no allocation.
//
// A fused group [contraction] [normalization] elementwise* [window] runs as
//   forward   a convolution or dense layer whose window (if any) the tiles can
//             hold, without batch norm or with one in evaluation (its statistics
//             are then the running ones, constants): z = W x with bias → batch-norm
//             apply → units → pooling applied to each finished register tile of the
//             GEMM (the tile epilogue below), which stores z (+ bias, before a batch
//             norm) for backward and writes the group output. A contraction with
//             batch norm in training (or whose window the tiles cannot hold): the
//             tiles store z + bias and, in training, gather each channel's batch
//             statistics from the registers (the statistics epilogue: no pass over
//             z for them), then ONE pass over z applies the chain. Any other group:
//             z = W x (forward_affine); the bias and batch statistics of z if
//             normalising; then the same ONE pass over z applying bias →
//             batch-norm apply → units (kernels/pointwise_chain.hpp), writing the
//             group output — or, with a window, writing each plane to scratch and
//             pooling it there. A channel window (maxout<R>) reduces each R rows
//             of a tile when R divides MR, else runs as one pass over z per
//             output channel: its R channels' chains, then the window across
//             them, lane by lane (channel_window_forward).
//   backward  ONE pass over (z, dy) recomputing the chain and running it in
//             reverse (window backward on the recomputed values first), reducing
//             every β and bias gradient per channel in the same pass; the
//             batch-norm correction; then dW and dx from the affine map's backward.
//             z is read in the column order the last forward wrote it in
//             (z_order_): window order after a tile forward with a window.
//             A channel window's backward is one pass per output channel over
//             its R channels of z (always natural order) and dy
//             (channel_window_backward).
// An unfused group calls the node's own forward/backward.
//
// Threads (core/thread_pool.hpp): the GEMMs split their tiles, and the per-channel
// passes split the channels. A pass's parameter-gradient sums are staged per
// channel and committed in channel order after it, so a β shared by all channels
// gets the same sum whatever the thread count. The statistics epilogue writes one
// (x₀, δ, Σ(x − x₀ − δ)²) per row and tile, wherever the GEMM's split puts the tile,
// and they are merged per channel in tile order (Chan et al.'s pairwise update, in
// double): the statistics, too, do not depend on the thread count.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/implicit_conv.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/layers/bias.hpp>
#include <maso/plan/backward.hpp>
#include <maso/plan/fuse.hpp>
#include <maso/plan/infer_shapes.hpp>
#include <maso/plan/tiles.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace maso::plan {

namespace detail {
struct no_layer {
    explicit no_layer(const auto&) {}
    std::size_t parameter_count() const { return 0; }
    std::size_t state_size(std::size_t) const { return 0; }
    std::size_t scratch_size(std::size_t) const { return 0; }
};

template <class Net, class T, std::size_t I>
struct layer_of {
    using node = type_at_t<I, flatten_t<Net>>;
    using type = typename node::template layer<input_shape_t<Net, I>, T>;
};
template <class Net, class T>
struct layer_of<Net, T, 0> {
    using type = no_layer;
};

template <class Net, class T, class Seq>
struct layers_tuple;
template <class Net, class T, std::size_t... I>
struct layers_tuple<Net, T, std::index_sequence<I...>> {
    using type = flat_tuple<typename layer_of<Net, T, I>::type...>;
};
} // namespace detail

template <class Net, class Policy, class T = float>
class program {
public:
    using nodes = flatten_t<Net>;
    using shapes = shapes_t<Net>;
    using memory_plan = backward_plan<Net, Policy>;
    static constexpr std::size_t node_count = nodes::size;
    static constexpr auto groups = groups_v<Net, Policy>;
    template <std::size_t I>
    using node_t = type_at_t<I, nodes>;
    template <std::size_t I>
    using layer_t = typename detail::layer_of<Net, T, I>::type;
    template <std::size_t I>
    using out_shape = output_shape_t<Net, I>;

    program(const Net& net, std::size_t batch)
        : net_(net), layers_(make_layers(net, std::make_index_sequence<node_count>{})),
          batch_(batch) {
        for_each_node([&](auto i) { names_[i] = node_t<i>::name(maso::get<i>(net_.nodes)); });
        if (batch == 0) throw value_error("maso: the batch size must be at least 1");
        check_batch(batch);
        try {
            allocate(batch);
        } catch (const std::bad_alloc&) {
            throw value_error("maso: a batch of " + std::to_string(batch) +
                              " images needs more memory than can be allocated");
        } catch (const std::length_error&) {
            throw value_error("maso: a batch of " + std::to_string(batch) +
                              " images needs more memory than can be allocated");
        }
    }

    // ---- running -----------------------------------------------------------------------
    /// Runs every group; a maso::numeric_error from a layer (batch statistics that are not
    /// finite) comes out naming the node: "maso: node 4 (batch_norm(…)): …".
    void forward() {
        for_each_group([&](auto k) {
            try {
                group_forward<k>();
            } catch (const numeric_error& e) {
                throw numeric_error(named(
                    groups[k].normalization ? groups[k].chain_begin : groups[k].begin, e.what()));
            }
        });
    }
    void backward() {
        for_each_group_reversed([&](auto k) { group_backward<k>(); });
    }

    /// Node i's name, as describe() prints it: "conv2d<96, 3, stride 1, same>".
    const std::string& node_name(std::size_t i) const { return names_[i]; }

private:
    /// Every buffer's size is a product of the batch and a size per image that the shapes
    /// fix; a batch for which the largest of them, with room to spare, would not fit a
    /// std::size_t (or a vector) is refused before any product can wrap around.
    void check_batch(std::size_t batch) const {
        std::size_t per_image = 1;
        for_each_node([&](auto i) {
            const auto& L = maso::get<i>(layers_);
            per_image += 2 * out_shape<i>::size + L.scratch_size(1) + L.state_size(1);
        });
        per_image += kernels::padded_size(input_geometry_for(1)) + 1;
        // 64: the window orders and tile statistics add at most a few times an activation.
        const std::size_t limit =
            std::size_t(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(T) / 64 / per_image;
        if (batch > limit)
            throw value_error("maso: a batch of " + std::to_string(batch) +
                              " images is impossible: this network's buffers hold " +
                              std::to_string(per_image) +
                              " values per image, and the largest "
                              "batch they can be sized for is " +
                              std::to_string(limit));
    }

    std::string named(std::size_t node, const std::string& what) const {
        // The layer's message is "maso: <layer>: <what>"; the node's index and name replace
        // the layer's tag.
        const std::size_t tag = what.find(": ", 6);
        return "maso: node " + std::to_string(node) + " (" + node_name(node) + ")" +
               (tag == std::string::npos ? ": " + what : what.substr(tag));
    }

    void allocate(std::size_t batch) {
        std::size_t scratch = 0;
        for_each_node([&](auto i) {
            const auto& L = maso::get<i>(layers_);
            param_offset_[i + 1] = param_offset_[i] + L.parameter_count();
            state_offset_[i + 1] = state_offset_[i] + L.state_size(batch);
            scratch = std::max(scratch, L.scratch_size(batch));
            if (memory_plan::materialized[i]) {
                act_[i].assign(out_shape<i>::size * batch, T(0));
                dact_[i].assign(out_shape<i>::size * batch, T(0));
            }
        });
        // The input kept padded: its borders are zeroed here, and only the interior
        // is ever written (load_input).
        if constexpr (input_edge == edge_layout::padded)
            act_[0].assign(kernels::padded_size(input_geometry()), T(0));
        // Fused windows recompute their input plane and its gradient in scratch.
        std::size_t planes = 0;
        for_each_group([&](auto k) {
            constexpr group g = groups[k];
            if constexpr (g.fused && g.window && !g.channel_window)
                planes = std::max(planes, out_shape<g.end - 2>::plane);
        });
        std::size_t staging = 0, stats = 0;
        for_each_group([&](auto k) {
            constexpr group g = groups[k];
            if constexpr (g.fused) {
                constexpr std::size_t zi = g.contraction ? g.begin : g.begin - 1;
                staging = std::max(staging, out_shape<zi>::channels * (staged_sums<k>() + 1));
            }
            if constexpr (tile_statistics<k>()) {
                const std::size_t m = batch * out_shape<g.begin>::plane;
                stats = std::max(stats, out_shape<g.begin>::channels * 3 * tiles_per_row(m));
            }
            if constexpr (tile_path<k>()) {
                // Window order pads Z to whole groups of windows (kernels/implicit_conv.hpp).
                const std::size_t z = out_shape<g.begin>::channels *
                                      layer_t<g.begin>::columns(batch, patch_order_of<k>());
                if (act_[g.begin].size() < z) {
                    act_[g.begin].assign(z, T(0));
                    dact_[g.begin].assign(z, T(0));
                }
            }
        });
        staging_.assign(staging, T(0));
        tile_stats_.assign(stats, T(0));
        plane_offset_ = scratch;
        params_.assign(param_offset_[node_count], T(0));
        grads_.assign(params_.size(), T(0));
        state_.assign(state_offset_[node_count], T(0));
        // Two planes per pool thread, so that the window passes split the channels.
        plane_size_ = planes;
        plane_slots_ = num_threads();
        scratch_.assign(scratch + 2 * planes * plane_slots_ + 1, T(0));
        kernels::reserve_workspace<xsimd::default_arch, T>();
    }

public:
    // ---- data ----------------------------------------------------------------------------
    std::size_t batch() const noexcept { return batch_; }
    /// Where node i's parameters start in parameters(), its state in state().
    std::size_t parameter_offset(std::size_t i) const noexcept { return param_offset_[i]; }
    std::size_t state_offset(std::size_t i) const noexcept { return state_offset_[i]; }
    /// Node i's output as the plan keeps it (empty if it does not): in the layout the
    /// kernels wrote it in, for checks that read every value whatever its place.
    std::span<const T> kept_output(std::size_t i) const noexcept { return act_[i]; }
    std::span<T> parameters() noexcept { return params_; }
    std::span<T> gradients() noexcept { return grads_; }
    template <std::size_t I>
    std::span<T> parameters() noexcept {
        return std::span<T>(params_).subspan(param_offset_[I],
                                             param_offset_[I + 1] - param_offset_[I]);
    }
    template <std::size_t I>
    std::span<T> gradients() noexcept {
        return std::span<T>(grads_).subspan(param_offset_[I],
                                            param_offset_[I + 1] - param_offset_[I]);
    }
    /// The layers' state (batch norm: running and last-used statistics), all or node I's.
    std::span<T> state() noexcept { return state_; }
    template <std::size_t I>
    std::span<T> state() noexcept {
        return std::span<T>(state_).subspan(state_offset_[I],
                                            state_offset_[I + 1] - state_offset_[I]);
    }
    template <std::size_t I>
    auto& layer() noexcept {
        return maso::get<I>(layers_);
    }
    /// How the input is stored, and with how many zeros around each plane (plan/backward.hpp).
    static constexpr edge_layout input_edge = memory_plan::input_edge;
    static constexpr std::size_t input_padding = memory_plan::input_padding;

    /// Stores a batch [N][C][H][W] as the network's input, as its first node reads it:
    /// channel-major, channel-major and zero-padded, or as given; one pass in each case.
    void load_input(std::span<const T> images) {
        using S = out_shape<0>;
        if constexpr (input_edge == edge_layout::channel_major) {
            to_channel_major(images, value<0>());
        } else {
            maso::detail::check_same_size(S::size * batch_, images.size(), "the input batch");
            if constexpr (input_edge == edge_layout::padded)
                kernels::pad_input(input_geometry(), images.data(), act_[0].data(),
                                   kernels::plane_layout::images);
            else
                parallel_for(batch_, [&](std::size_t n0, std::size_t n1, std::size_t) {
                    std::copy(images.begin() + n0 * S::size, images.begin() + n1 * S::size,
                              act_[0].begin() + n0 * S::size);
                });
        }
    }

    /// Node I's output, when the plan keeps it (always for the input and the last node).
    template <std::size_t I>
    activation<out_shape<I>, T> value() noexcept {
        static_assert(memory_plan::materialized[I], "this node's output is not kept by the plan");
        static_assert(I > 0 || input_edge == edge_layout::channel_major,
                      "the input is stored as the node that reads it asks (load_input): "
                      "it has no channel-major view");
        return {act_[I].data(), batch_};
    }
    template <std::size_t I>
    activation<out_shape<I>, T> gradient() noexcept {
        static_assert(memory_plan::materialized[I], "this node's gradient is not kept by the plan");
        return {dact_[I].data(), batch_};
    }

    mode phase = mode::training;
    const int* labels = nullptr;
    T loss = T(0);
    bool input_gradient = false; ///< compute ∂L/∂input too (off: the first GEMM's dx is skipped)

private:
    using layers_t =
        typename detail::layers_tuple<Net, T, std::make_index_sequence<node_count>>::type;

    template <std::size_t... I>
    static layers_t make_layers(const Net& net, std::index_sequence<I...>) {
        return layers_t{std::in_place,
                        typename detail::layer_of<Net, T, I>::type(maso::get<I>(net.nodes))...};
    }
    template <class F>
    static void for_each_node(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, I>{}), ...);
        }
        (std::make_index_sequence<node_count>{});
    }
    template <class F>
    static void for_each_group(F&& f) {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (f(std::integral_constant<std::size_t, K>{}), ...);
        }
        (std::make_index_sequence<groups.size()>{});
    }
    template <class F>
    static void for_each_group_reversed(F&& f) {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (f(std::integral_constant<std::size_t, groups.size() - 1 - K>{}), ...);
        }
        (std::make_index_sequence<groups.size()>{});
    }

    /// The layer_io of node I over the given buffers (any may be null).
    template <std::size_t I>
    layer_io<out_shape<I - 1>, out_shape<I>, T> io(const T* x, T* y, const T* dy, T* dx) {
        layer_io<out_shape<I - 1>, out_shape<I>, T> r;
        r.x = {x, batch_};
        if constexpr (I == 1 && input_edge != edge_layout::channel_major)
            r.x = {nullptr, batch_}, r.x_edge = x;
        r.y = {y, batch_};
        r.dy = {dy, batch_};
        r.dx = {dx, batch_};
        r.params = std::span<const T>(params_).subspan(param_offset_[I],
                                                       param_offset_[I + 1] - param_offset_[I]);
        r.grads =
            std::span<T>(grads_).subspan(param_offset_[I], param_offset_[I + 1] - param_offset_[I]);
        r.state =
            std::span<T>(state_).subspan(state_offset_[I], state_offset_[I + 1] - state_offset_[I]);
        r.scratch = std::span<T>(scratch_).first(plane_offset_);
        r.phase = phase;
        r.labels = labels;
        r.loss = labels ? &loss : nullptr; // no labels: a loss node only predicts
        return r;
    }
    template <std::size_t I>
    auto io() {
        return io<I>(nullptr, nullptr, nullptr, nullptr);
    }
    /// The input's sizes as a "same" convolution's geometry: what padding it needs.
    kernels::conv_geometry input_geometry() const { return input_geometry_for(batch_); }
    static kernels::conv_geometry input_geometry_for(std::size_t batch) {
        using S = out_shape<0>;
        return {S::channels, batch, S::height, S::width, 2 * input_padding + 1, 1, input_padding};
    }
    T* act(std::size_t i) { return act_[i].empty() ? nullptr : act_[i].data(); }
    T* dact(std::size_t i) { return dact_[i].empty() ? nullptr : dact_[i].data(); }
    /// dx of an affine map: skipped for the network input unless asked for
    /// (other nodes always write their dx).
    T* input_grad_of(std::size_t i) { return (i == 0 && !input_gradient) ? nullptr : dact(i); }

    // ---- the fused epilogue's chain ----------------------------------------------------

    /// Whether the contraction's bias is applied in place before batch statistics.
    template <std::size_t K>
    static constexpr bool bias_before_norm() {
        constexpr group g = groups[K];
        if constexpr (g.contraction && g.normalization)
            return layer_t<g.begin>::has_bias;
        else
            return false;
    }
    template <std::size_t K>
    static constexpr bool bias_in_chain() {
        constexpr group g = groups[K];
        if constexpr (g.contraction && !g.normalization)
            return layer_t<g.begin>::has_bias;
        else
            return false;
    }

    /// Channel c's pointwise ops: [bias] then every node of [chain_begin, chain_end).
    template <std::size_t K>
    auto chain_ops(std::size_t c) {
        constexpr group g = groups[K];
        auto nodes_ops = [&]<std::size_t... J>(std::index_sequence<J...>) {
            return std::tuple{
                maso::get<g.chain_begin + J>(layers_).op(io<g.chain_begin + J>(), c)...};
        }
        (std::make_index_sequence<g.chain_end - g.chain_begin>{});
        if constexpr (bias_in_chain<K>())
            return std::tuple_cat(std::tuple{maso::get<g.begin>(layers_).bias(io<g.begin>(), c)},
                                  nodes_ops);
        else
            return nodes_ops;
    }
    template <std::size_t K>
    static constexpr bool has_chain() {
        return groups[K].chain_end > groups[K].chain_begin || bias_in_chain<K>();
    }

    // ---- the tile epilogue ------------------------------------------------------------

    using arch = xsimd::default_arch;
    using gemm_blocks = kernels::gemm_blocking<arch, T>;

    /// The ops of group K's chain, one channel's.
    /// The program as a type that depends on K: clang looks into a non-dependent
    /// declval<program&>() while the class is still incomplete.
    template <class P, std::size_t>
    struct dependent {
        using type = P;
    };
    template <std::size_t K>
    using chain_t =
        decltype(std::declval<typename dependent<program, K>::type&>().template chain_ops<K>(0));
    /// Parameter-gradient sums a channel of group K's backward pass stages.
    template <std::size_t K>
    static constexpr std::size_t staged_sums() {
        return kernels::chain_layout_of<chain_t<K>>::accumulators;
    }

    /// Whether group K pools inside GEMM tiles, whether it runs its chain (and window)
    /// as the epilogue of its contraction's GEMM — with a batch norm, in evaluation —
    /// and whether its tiles gather batch statistics in training (plan/tiles.hpp).
    template <std::size_t K>
    static constexpr bool tile_window() {
        return tiles<Net, Policy, K, T, arch>().window && !groups[K].channel_window;
    }
    /// Whether group K's tiles reduce their rows by a channel window (maxout<R>: R | MR).
    template <std::size_t K>
    static constexpr bool tile_channel_window() {
        return tiles<Net, Policy, K, T, arch>().window && groups[K].channel_window;
    }
    /// Members of group K's pooling window: K² for K×K pooling.
    template <std::size_t K>
    static constexpr std::size_t window_members() {
        constexpr std::size_t k = node_t<groups[K].end - 1>::window;
        return k * k;
    }
    /// The channels a channel window reduces to one (maxout<R>'s R), or 1.
    template <std::size_t K>
    static constexpr std::size_t channel_group() {
        if constexpr (groups[K].channel_window)
            return node_t<groups[K].end - 1>::group;
        else
            return 1;
    }
    template <std::size_t K>
    static constexpr bool tile_chain() {
        return tiles<Net, Policy, K, T, arch>().chain;
    }
    template <std::size_t K>
    static constexpr bool tile_statistics() {
        return tiles<Net, Policy, K, T, arch>().statistics;
    }
    /// Whether a GEMM epilogue writes group K's z (in a column order it chooses).
    template <std::size_t K>
    static constexpr bool tile_path() {
        return tile_chain<K>() || tile_statistics<K>();
    }
    /// Tiles of z per channel of m columns in natural order: the statistics epilogue's
    /// partial sums per channel.
    static constexpr std::size_t tiles_per_row(std::size_t m) {
        return (m + gemm_blocks::NR - 1) / gemm_blocks::NR;
    }
    /// Channel c's bias, added to z before a batch norm (bias_before_norm).
    template <std::size_t K>
    T bias_before_norm_of(std::size_t c) {
        return maso::get<groups[K].begin>(layers_).bias(io<groups[K].begin>(), c).b;
    }
    template <std::size_t K>
    static constexpr kernels::patch_order patch_order_of() {
        constexpr group g = groups[K];
        if constexpr (tile_window<K>()) {
            constexpr std::size_t k = node_t<g.end - 1>::window;
            return kernels::patch_order::windows(k, gemm_blocks::NR / (k * k));
        } else {
            return kernels::patch_order::natural();
        }
    }

    /// The window math group K's tiles pool with (`char`, unused, without a tile window).
    template <std::size_t K, bool = tile_window<K>() || tile_channel_window<K>()>
    struct lanes_of {
        using type = char;
    };
    template <std::size_t K>
    struct lanes_of<K, true> {
        using W = layer_t<groups[K].end - 1>;
        using type = std::decay_t<decltype(std::declval<const W&>().lanes(
            std::declval<const typename W::io&>(), std::size_t{0}))>;
    };

    /// What group K's tile epilogue needs of every channel — its chain's ops, its
    /// window math (per output channel), its bias before a batch norm — built once per
    /// forward by tile_forward, on the caller's stack, and shared by the threads' copies
    /// of the epilogue. (A cache of the current tile row's was rebuilt at nearly every
    /// tile: inside a block of columns the GEMM moves to the next row of tiles.)
    template <std::size_t K>
    struct tile_tables {
        static constexpr std::size_t rows = out_shape<groups[K].begin>::channels;
        static constexpr std::size_t windows =
            tile_channel_window<K>() ? rows / channel_group<K>() : rows;
        std::array<std::optional<chain_t<K>>, rows> ops{}; ///< not default-constructible
        std::array<std::optional<typename lanes_of<K>::type>, windows> lanes{};
        std::array<T, bias_before_norm<K>() ? rows : 0> bias{};

        explicit tile_tables(program& p) {
            for (std::size_t c = 0; c < rows; ++c)
                ops[c].emplace(p.template chain_ops<K>(c));
            if constexpr (bias_before_norm<K>())
                for (std::size_t c = 0; c < rows; ++c)
                    bias[c] = p.template bias_before_norm_of<K>(c);
            if constexpr (tile_window<K>() || tile_channel_window<K>()) {
                constexpr std::size_t w = groups[K].end - 1;
                const auto wio = p.template io<w>();
                for (std::size_t c = 0; c < windows; ++c)
                    lanes[c].emplace(maso::get<w>(p.layers_).lanes(wio, c));
            }
        }
    };

    /// Group K's epilogue on a finished tile: z stored for backward (with the bias
    /// first before a batch norm, whose input z + bias is), then per row (channel)
    /// the chain and the window in registers, and the group output stored. A channel
    /// window (maxout<R>, R | MR) reduces each R rows lane-wise into one output row
    /// (i0 + i)/R, in the natural column order: i0 is a multiple of MR, and the m
    /// rows of a partial tile a multiple of R, as the channel count is.
    /// Each thread has its own copy; the channels' ops and window math are in the
    /// tile_tables tile_forward built.
    template <std::size_t K>
    struct tile_epilogue {
        static constexpr group g = groups[K];
        static constexpr std::size_t MR = gemm_blocks::MR, NV = gemm_blocks::NV;
        T* z;
        std::size_t z_ld; ///< columns of z per channel
        T* out;
        std::size_t out_ld;  ///< group output per channel
        std::size_t windows; ///< per channel, window order only
        const tile_tables<K>* t;

        template <class Batch>
        void operator()(Batch (&acc)[MR][NV], std::size_t i0, std::size_t j0, std::size_t m,
                        std::size_t n) {
            constexpr std::size_t W = Batch::size;
            // Rows past m (a partial tile) reuse row 0's ops: their values are dropped.
            auto row = [&](std::size_t i) { return i0 + (i < m ? i : 0); };
            if constexpr (bias_before_norm<K>())
                for (std::size_t i = 0; i < MR; ++i)
                    for (std::size_t v = 0; v < NV; ++v)
                        acc[i][v] += Batch(t->bias[row(i)]);
            // z is kept for backward, unless it is the output itself (a convolution
            // whose chain is its bias alone: the bias's backward does not read it).
            if (z != out) kernels::store_tile<arch>(acc, z + i0 * z_ld + j0, z_ld, m, n);
            for (std::size_t i = 0; i < MR; ++i)
                for (std::size_t v = 0; v < NV; ++v)
                    acc[i][v] = kernels::chain_value(*t->ops[row(i)], acc[i][v]);
            if constexpr (tile_window<K>()) {
                // The tile is one group of L windows, member r of window l at column
                // r·L + l. With L = W (AVX-512 float: R = NV) batch r holds member r;
                // with L < W the row goes through memory and member r is the batch
                // at r·L, whose lanes past L (other members) make windows nobody reads.
                constexpr std::size_t R = window_members<K>(), L = NV * W / R;
                const std::size_t w0 = j0 / (NV * W) * L, valid = std::min(L, windows - w0);
                for (std::size_t i = 0; i < m; ++i) {
                    std::array<Batch, R> v;
                    if constexpr (L == W) {
                        for (std::size_t r = 0; r < R; ++r)
                            v[r] = acc[i][r];
                    } else {
                        alignas(64) T row[NV * W + W] = {};
                        for (std::size_t u = 0; u < NV; ++u)
                            acc[i][u].store_aligned(row + u * W);
                        for (std::size_t r = 0; r < R; ++r)
                            v[r] = Batch::load_unaligned(row + r * L);
                    }
                    const Batch y = t->lanes[i0 + i]->template forward<R>(v);
                    T* o = out + (i0 + i) * out_ld + w0;
                    if (valid == W) {
                        y.store_unaligned(o);
                    } else {
                        alignas(64) T lane[W];
                        y.store_aligned(lane);
                        std::copy_n(lane, valid, o);
                    }
                }
            } else if constexpr (tile_channel_window<K>()) {
                // Output row o of the tile: rows oR … oR + R − 1 reduced lane-wise.
                constexpr std::size_t R = channel_group<K>();
                for (std::size_t o = 0; o < m / R; ++o)
                    for (std::size_t v = 0; v < NV; ++v) {
                        std::array<Batch, R> members;
                        for (std::size_t r = 0; r < R; ++r)
                            members[r] = acc[o * R + r][v];
                        acc[o][v] = t->lanes[i0 / R + o]->template forward<R>(members);
                    }
                kernels::store_tile<arch>(acc, out + i0 / R * out_ld + j0, out_ld, m / R, n);
            } else {
                kernels::store_tile<arch>(acc, out + i0 * out_ld + j0, out_ld, m, n);
            }
        }
    };

    template <std::size_t K>
    void tile_forward() {
        constexpr group g = groups[K];
        using S = out_shape<g.begin>;
        auto& contraction = maso::get<g.begin>(layers_); // conv2d or dense
        constexpr kernels::patch_order order = patch_order_of<K>();
        const std::size_t cols = contraction.columns(batch_, order);
        std::size_t out_ld = batch_ * S::plane, windows = 0;
        if constexpr (tile_window<K>()) {
            windows = batch_ * out_shape<g.end - 1>::plane;
            out_ld = windows;
        }
        const tile_tables<K> tables(*this);
        contraction.forward_affine(
            io<g.begin>(act(g.begin - 1), act(g.begin), nullptr, nullptr), order,
            tile_epilogue<K>{act(g.begin), cols, act(g.end - 1), out_ld, windows, &tables});
    }

    /// Group K's epilogue in training (a batch-norm group: tiles().statistics): z + bias
    /// stored in natural order, and for each row (channel) i of the tile, over its n
    /// columns: the first value x₀, the mean δ of x − x₀ and the sum of squares
    /// Σ(x − x₀ − δ)², at partial[((i0 + i)·tiles + j0/NR)·3]. The float sums see only
    /// the spread of the values, not their offset: x − x₀ is exact for values near x₀
    /// (Sterbenz), and the squares are centred on the tile's mean x₀ + δ, so neither
    /// a channel whose mean dwarfs its spread nor a Σx² − (Σx)²/n cancellation costs
    /// digits. One entry per tile, whichever thread runs it, so the merge
    /// (statistics_forward) reads the same numbers for any split of the GEMM. With
    /// no `partial` (evaluation) it only stores z + bias.
    template <std::size_t K>
    struct statistics_epilogue {
        static constexpr std::size_t MR = gemm_blocks::MR, NV = gemm_blocks::NV,
                                     NR = gemm_blocks::NR;
        T* z;
        std::size_t z_ld; ///< columns of z per channel: batch·plane
        T* partial;
        std::size_t tiles; ///< per channel: tiles_per_row(z_ld)
        const T* bias;     ///< per channel, bias_before_norm only (statistics_forward)

        template <class Batch>
        void operator()(Batch (&acc)[MR][NV], std::size_t i0, std::size_t j0, std::size_t m,
                        std::size_t n) {
            constexpr std::size_t W = Batch::size;
            if constexpr (bias_before_norm<K>()) {
                for (std::size_t i = 0; i < MR; ++i)
                    for (std::size_t v = 0; v < NV; ++v)
                        acc[i][v] += Batch(bias[i0 + (i < m ? i : 0)]);
            }
            kernels::store_tile<arch>(acc, z + i0 * z_ld + j0, z_ld, m, n);
            if (!partial) return;
            for (std::size_t i = 0; i < m; ++i) {
                alignas(64) T r[NR];
                for (std::size_t v = 0; v < NV; ++v)
                    acc[i][v].store_aligned(r + v * W);
                const T x0 = r[0];
                T delta = 0, ss = 0;
                if (n == NR) {
                    const Batch shift(x0);
                    Batch s(T(0));
                    for (std::size_t v = 0; v < NV; ++v)
                        s += acc[i][v] - shift;
                    delta = xsimd::hadd(s) / T(NR);
                    const Batch mean(delta);
                    Batch q(T(0));
                    for (std::size_t v = 0; v < NV; ++v) {
                        const Batch d = (acc[i][v] - shift) - mean;
                        q = simd::fmadd(d, d, q);
                    }
                    ss = xsimd::hadd(q);
                } else { // the last tile of the row: only its n columns count
                    for (std::size_t j = 0; j < n; ++j)
                        delta += r[j] - x0;
                    delta /= T(n);
                    for (std::size_t j = 0; j < n; ++j) {
                        const T d = (r[j] - x0) - delta;
                        ss += d * d;
                    }
                }
                T* p = partial + ((i0 + i) * tiles + j0 / NR) * 3;
                p[0] = x0;
                p[1] = delta;
                p[2] = ss;
            }
        }
    };

    /// Group K's z (+ bias) from the GEMM's tiles in natural order, and the batch
    /// norm's statistics: in training the batch's, gathered on the tiles and merged
    /// here; in evaluation the running ones.
    template <std::size_t K>
    void statistics_forward() {
        constexpr group g = groups[K];
        using S = out_shape<g.begin>;
        auto& bn = maso::get<g.chain_begin>(layers_);
        const auto nio = io<g.chain_begin>(act(g.begin), nullptr, nullptr, nullptr);
        const std::size_t m = batch_ * S::plane, tiles = tiles_per_row(m);
        const bool training = phase != mode::evaluation;
        if (training) bn.begin_batch(nio); // throws for m < 2 before any work
        std::array<T, S::channels> bias{};
        if constexpr (bias_before_norm<K>())
            for (std::size_t c = 0; c < S::channels; ++c)
                bias[c] = bias_before_norm_of<K>(c);
        maso::get<g.begin>(layers_).forward_affine(
            io<g.begin>(act(g.begin - 1), act(g.begin), nullptr, nullptr),
            kernels::patch_order::natural(),
            statistics_epilogue<K>{act(g.begin), m, training ? tile_stats_.data() : nullptr, tiles,
                                   bias.data()});
        if (!training) {
            bn.running_statistics(nio);
            return;
        }
        // Per channel, the tiles' (count, x₀ + δ, Σ(x − x₀ − δ)²) in column order by the
        // pairwise update of Chan, Golub and LeVeque ("Algorithms for computing the
        // sample variance", 1983): δ = mean_b − mean, mean += δ·n_b/n,
        // ss += ss_b + δ²·n_a·n_b/n — in double, like statistics()'s two passes, to
        // which it agrees to float rounding.
        parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
            for (std::size_t c = c0; c < c1; ++c) {
                const T* p = tile_stats_.data() + c * tiles * 3;
                double mean = 0, ss = 0, count = 0;
                for (std::size_t t = 0; t < tiles; ++t, p += 3) {
                    const double nb = double(std::min(gemm_blocks::NR, m - t * gemm_blocks::NR));
                    const double total = count + nb;
                    const double delta = (double(p[0]) - mean) + double(p[1]);
                    mean += delta * (nb / total);
                    ss += double(p[2]) + delta * delta * (count * nb / total);
                    count = total;
                }
                bn.batch_statistics(nio, c, mean, ss, m);
            }
        });
        bn.commit_batch(nio, m);
    }

    /// dz of group K from its z (kept in the GEMM's column order) and the group
    /// output's gradient: per channel, the chain recomputed in registers, the window's
    /// backward on whole groups of windows, the chain's backward; sums staged.
    template <std::size_t K>
    void tile_backward_channel(std::size_t c, const T* z, const T* dout, T* dz) {
        constexpr group g = groups[K];
        using batch = xsimd::batch<T, arch>;
        constexpr std::size_t W = batch::size, NV = gemm_blocks::NV;
        constexpr std::size_t n_acc = staged_sums<K>();
        const auto ops = chain_ops<K>(c);
        auto& layer = maso::get<g.end - 1>(layers_);
        const auto wio = io<g.end - 1>();
        const auto lanes = layer.lanes(wio, c);
        const std::size_t windows = batch_ * out_shape<g.end - 1>::plane;
        // A group of L windows per tile (tile_epilogue): R·L columns, member r at r·L.
        constexpr std::size_t R = window_members<K>(), L = NV * W / R;
        std::array<batch, n_acc + 1> acc;
        acc.fill(batch(T(0)));
        for (std::size_t w0 = 0; w0 < windows; w0 += L) {
            const std::size_t valid = std::min(L, windows - w0);
            const T* zg = z + w0 * R;
            T* dzg = dz + w0 * R;
            batch dy;
            if (valid == W) {
                dy = batch::load_unaligned(dout + w0);
            } else { // padded lanes get dy = 0 and so contribute nothing
                alignas(64) T lane[W] = {};
                std::copy_n(dout + w0, valid, lane);
                dy = batch::load_aligned(lane);
            }
            std::array<batch, R> zr, u, du;
            if constexpr (L == W) {
                for (std::size_t r = 0; r < R; ++r)
                    zr[r] = batch::load_unaligned(zg + r * W);
            } else {
                // Member r is the batch at r·L of the group: its lanes past L belong to
                // other members, where dy = 0, so they add nothing to any sum.
                alignas(64) T group[R * L + W] = {};
                std::copy_n(zg, R * L, group);
                for (std::size_t r = 0; r < R; ++r)
                    zr[r] = batch::load_unaligned(group + r * L);
            }
            for (std::size_t r = 0; r < R; ++r)
                u[r] = kernels::chain_value(ops, zr[r]);
            acc[n_acc] += lanes.template backward<R>(u, dy, du);
            if constexpr (L == W) {
                for (std::size_t r = 0; r < R; ++r)
                    kernels::chain_gradient(ops, zr[r], du[r], acc.data())
                        .store_unaligned(dzg + r * W);
            } else {
                // In member order, each batch's lanes past L overwritten by the next.
                alignas(64) T group[R * L + W];
                for (std::size_t r = 0; r < R; ++r)
                    kernels::chain_gradient(ops, zr[r], du[r], acc.data())
                        .store_unaligned(group + r * L);
                std::copy_n(group, R * L, dzg);
            }
        }
        T* sums = staging_.data() + c * (n_acc + 1);
        for (std::size_t a = 0; a <= n_acc; ++a)
            sums[a] = xsimd::hadd(acc[a]);
    }

    /// Commits the staged sums of group K's channels in channel order; with
    /// `window_sums` (staged by tile_backward_channel or the plane pass), the pooling
    /// window's ∂L/∂η too.
    template <std::size_t K>
    void commit_staged(std::size_t channels, bool window_sums) {
        constexpr group g = groups[K];
        constexpr std::size_t n_acc = staged_sums<K>();
        for (std::size_t c = 0; c < channels; ++c) {
            const T* sums = staging_.data() + c * (n_acc + 1);
            kernels::chain_commit(chain_ops<K>(c), sums);
            if constexpr (g.window && !g.channel_window) {
                auto& layer = maso::get<g.end - 1>(layers_);
                const auto wio = io<g.end - 1>();
                if constexpr (requires { layer.commit_planes(wio, c, sums[n_acc]); })
                    if (window_sums) layer.commit_planes(wio, c, sums[n_acc]);
            }
            if constexpr (g.channel_window) {
                // Output channel c/R's ∂L/∂η, staged with its first input channel.
                constexpr std::size_t R = channel_group<K>();
                auto& layer = maso::get<g.end - 1>(layers_);
                if constexpr (requires { layer.beta; }) {
                    if (window_sums && c % R == 0) {
                        const auto wio = io<g.end - 1>();
                        layer.beta.add_gradient(wio.grads, c / R, sums[n_acc],
                                                layer.lanes(wio, c / R).eta);
                    }
                }
            }
        }
    }

    /// The chains of output channel o's R input channels oR … oR + R − 1.
    template <std::size_t K>
    auto channel_window_ops(std::size_t o) {
        constexpr std::size_t R = channel_group<K>();
        return [&]<std::size_t... J>(std::index_sequence<J...>) {
            return std::array<chain_t<K>, R>{chain_ops<K>(o * R + J)...};
        }
        (std::make_index_sequence<R>{});
    }

    /// Group K's channel window (maxout<R>) as one pass over z (natural order) per
    /// output channel o: the chain on its R input channels, then the window math
    /// across them, lane-wise along the columns; no plane buffer, as the window is
    /// pointwise along the columns. The output channels are split among the threads.
    template <std::size_t K>
    void channel_window_forward() {
        constexpr group g = groups[K];
        constexpr std::size_t R = channel_group<K>();
        using S = out_shape<g.begin>;
        using O = out_shape<g.end - 1>;
        const std::size_t n = batch_ * S::plane;
        const T* z = act(g.begin);
        T* out = act(g.end - 1);
        auto& layer = maso::get<g.end - 1>(layers_);
        const auto wio = io<g.end - 1>();
        parallel_for(O::channels, [&](std::size_t o0, std::size_t o1, std::size_t) {
            for (std::size_t o = o0; o < o1; ++o) {
                const auto ops = channel_window_ops<K>(o);
                const auto lanes = layer.lanes(wio, o);
                std::array<const T*, R> in;
                for (std::size_t r = 0; r < R; ++r)
                    in[r] = z + (o * R + r) * n;
                simd::fused_loop(arch{}, n, in, std::array<T*, 1>{out + o * n},
                                 [ops, lanes](const auto& v, auto&) {
                                     constexpr std::size_t R = channel_group<K>();
                                     auto u = v;
                                     for (std::size_t r = 0; r < R; ++r)
                                         u[r] = kernels::chain_value(ops[r], v[r]);
                                     return std::array{lanes.template forward<R>(u)};
                                 });
            }
        });
    }

    /// dz of output channel o's R input channels from z (natural order) and dy: the
    /// chains recomputed in registers, the window's backward across them, the chains'
    /// backward. Each input channel's parameter-gradient sums are staged in its slot,
    /// the window's ∂L/∂η in the slot of the first (commit_staged commits them in
    /// channel order: the same sums for any thread count). The tail's padded lanes
    /// have dy = 0 and add nothing.
    template <std::size_t K>
    void channel_window_backward(std::size_t o, const T* z, const T* dout, T* dz) {
        constexpr group g = groups[K];
        constexpr std::size_t R = channel_group<K>();
        constexpr std::size_t n_acc = staged_sums<K>();
        using S = out_shape<g.begin>;
        const std::size_t n = batch_ * S::plane;
        auto& layer = maso::get<g.end - 1>(layers_);
        const auto ops = channel_window_ops<K>(o);
        const auto lanes = layer.lanes(io<g.end - 1>(), o);
        std::array<const T*, R + 1> in;
        std::array<T*, R> outs;
        for (std::size_t r = 0; r < R; ++r) {
            in[r] = z + (o * R + r) * n;
            outs[r] = dz + (o * R + r) * n;
        }
        in[R] = dout + o * n;
        const auto sums = simd::fused_loop<R * n_acc + 1>(
            arch{}, n, in, outs, [ops, lanes](const auto& v, auto& acc) {
                constexpr std::size_t R = channel_group<K>(), n_acc = staged_sums<K>();
                using V = std::decay_t<decltype(v[0])>;
                std::array<V, R> u, du, dzr;
                for (std::size_t r = 0; r < R; ++r)
                    u[r] = kernels::chain_value(ops[r], v[r]);
                acc[R * n_acc] += lanes.template backward<R>(u, v[R], du);
                for (std::size_t r = 0; r < R; ++r)
                    dzr[r] = kernels::chain_gradient(ops[r], v[r], du[r], acc.data() + r * n_acc);
                return dzr;
            });
        for (std::size_t r = 0; r < R; ++r) {
            T* slot = staging_.data() + (o * R + r) * (n_acc + 1);
            std::copy_n(sums.data() + r * n_acc, n_acc, slot);
            if (r == 0) slot[n_acc] = sums[R * n_acc];
        }
    }

    template <std::size_t K>
    void group_forward() {
        constexpr group g = groups[K];
        if constexpr (!g.fused) {
            maso::get<g.begin>(layers_).forward(
                io<g.begin>(act(g.begin - 1), act(g.begin), nullptr, nullptr));
            return;
        } else {
            z_order_[K] = kernels::patch_order::natural();
            if constexpr (tile_chain<K>()) {
                // A batch norm's apply joins the tiles in evaluation, where its statistics
                // are the running ones, known before the GEMM (plan/tiles.hpp).
                if constexpr (g.normalization) {
                    if (phase == mode::evaluation) {
                        maso::get<g.chain_begin>(layers_).running_statistics(io<g.chain_begin>());
                        z_order_[K] = patch_order_of<K>();
                        tile_forward<K>();
                        return;
                    }
                } else {
                    z_order_[K] = patch_order_of<K>();
                    tile_forward<K>();
                    return;
                }
            }
            // z: the chain's input — the contraction's output, or the group's input.
            constexpr std::size_t zi = g.contraction ? g.begin : g.begin - 1;
            using S = out_shape<zi>;
            if constexpr (tile_statistics<K>()) {
                statistics_forward<K>();
            } else {
                if constexpr (g.contraction)
                    maso::get<g.begin>(layers_).forward_affine(
                        io<g.begin>(act(g.begin - 1), act(g.begin), nullptr, nullptr));
                if constexpr (bias_before_norm<K>()) {
                    std::array<T, S::channels> bias;
                    for (std::size_t c = 0; c < S::channels; ++c)
                        bias[c] = bias_before_norm_of<K>(c);
                    maso::detail::add_bias(bias.data(), act(zi), S::channels, batch_ * S::plane,
                                           batch_ * S::plane);
                }
                if constexpr (g.normalization)
                    maso::get<g.chain_begin>(layers_).statistics(
                        io<g.chain_begin>(act(zi), nullptr, nullptr, nullptr));
            }
            T* out = act(g.end - 1);
            if constexpr (g.channel_window) {
                channel_window_forward<K>();
            } else if constexpr (g.window) {
                constexpr std::size_t w = g.end - 1;
                auto& W = maso::get<w>(layers_);
                auto wio = io<w>(nullptr, out, nullptr, nullptr);
                using O = out_shape<w>;
                for_each_channel_with_planes(S::channels, [&](std::size_t c, std::size_t t) {
                    T* buf = plane_buffer(0, t);
                    const T* zc = act(zi) + c * batch_ * S::plane;
                    T* oc = out + c * batch_ * O::plane;
                    if constexpr (has_chain<K>()) {
                        for (std::size_t n = 0; n < batch_; ++n) {
                            kernels::chain_forward(xsimd::default_arch{}, chain_ops<K>(c),
                                                   zc + n * S::plane, buf, S::plane);
                            W.forward_planes(wio, c, buf, oc + n * O::plane, 1);
                        }
                    } else { // the channel's planes are consecutive: one pass over them
                        W.forward_planes(wio, c, zc, oc, batch_);
                    }
                });
            } else if constexpr (has_chain<K>()) {
                parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
                    for (std::size_t c = c0; c < c1; ++c)
                        kernels::chain_forward(arch{}, chain_ops<K>(c), channel<S>(zi, c),
                                               out + c * batch_ * S::plane, batch_ * S::plane);
                });
            }
        }
    }

    template <std::size_t K>
    void group_backward() {
        constexpr group g = groups[K];
        if constexpr (!g.fused) {
            constexpr bool affine = node_t<g.begin>::kind == node_kind::contraction;
            maso::get<g.begin>(layers_).backward(
                io<g.begin>(act(g.begin - 1), act(g.begin), dact(g.begin),
                            affine ? input_grad_of(g.begin - 1) : dact(g.begin - 1)));
        } else {
            constexpr std::size_t zi = g.contraction ? g.begin : g.begin - 1;
            using S = out_shape<zi>;
            const T* dout = dact(g.end - 1);
            // The gradient of z: the contraction output's buffer, or the group input's.
            T* dz = g.contraction ? dact(g.begin) : dact(g.begin - 1);
            const T* z = act(zi);
            // z in window order (the last forward ran the window on the tiles; with a
            // batch norm, only an evaluation forward does) or in natural order.
            bool windowed = false;
            std::size_t z_ld = batch_ * S::plane; ///< z (and dz) per channel
            if constexpr (tile_window<K>()) {
                windowed = !z_order_[K].is_natural();
                if (windowed) {
                    z_ld = maso::get<g.begin>(layers_).columns(batch_, z_order_[K]);
                    const std::size_t windows = batch_ * out_shape<g.end - 1>::plane;
                    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
                        for (std::size_t c = c0; c < c1; ++c)
                            tile_backward_channel<K>(c, z + c * z_ld, dout + c * windows,
                                                     dz + c * z_ld);
                    });
                    commit_staged<K>(S::channels, true);
                }
            }
            if (!windowed) {
                if constexpr (g.channel_window) {
                    parallel_for(out_shape<g.end - 1>::channels,
                                 [&](std::size_t o0, std::size_t o1, std::size_t) {
                                     for (std::size_t o = o0; o < o1; ++o)
                                         channel_window_backward<K>(o, z, dout, dz);
                                 });
                    commit_staged<K>(S::channels, true);
                } else if constexpr (g.window) {
                    // Plane by plane; a channel's parameter-gradient sums, and the window's
                    // ∂L/∂η, are added over its planes and staged, then committed in channel
                    // order (a β shared by the window or the chain gets the same sum for any
                    // thread count), as a batch norm's commit stores the channel's Σ dy·x̂ and
                    // Σ dy for its correction below.
                    constexpr std::size_t w = g.end - 1;
                    constexpr std::size_t n_acc = staged_sums<K>();
                    auto& W = maso::get<w>(layers_);
                    auto wio = io<w>();
                    using O = out_shape<w>;
                    for_each_channel_with_planes(S::channels, [&](std::size_t c, std::size_t t) {
                        T* buf = plane_buffer(0, t);
                        T* dbuf = plane_buffer(1, t);
                        std::array<T, n_acc + 1> sums{};
                        const T* zc = z + c * batch_ * S::plane;
                        const T* dc = dout + c * batch_ * O::plane;
                        T* dzc = dz + c * batch_ * S::plane;
                        if constexpr (has_chain<K>()) {
                            const auto ops = chain_ops<K>(c);
                            for (std::size_t n = 0; n < batch_; ++n) {
                                const T* zin = zc + n * S::plane;
                                kernels::chain_forward(xsimd::default_arch{}, ops, zin, buf,
                                                       S::plane);
                                sums[n_acc] +=
                                    W.backward_planes(wio, c, buf, dc + n * O::plane, dbuf, 1);
                                const auto s = kernels::chain_backward_sums(
                                    xsimd::default_arch{}, ops, zin, dbuf, dzc + n * S::plane,
                                    S::plane);
                                for (std::size_t a = 0; a < n_acc; ++a)
                                    sums[a] += s[a];
                            }
                        } else { // the channel's planes are consecutive: one pass over them
                            sums[n_acc] = W.backward_planes(wio, c, zc, dc, dzc, batch_);
                        }
                        std::copy_n(sums.data(), n_acc + 1, staging_.data() + c * (n_acc + 1));
                    });
                    commit_staged<K>(S::channels, true);
                } else if constexpr (has_chain<K>()) {
                    constexpr std::size_t n_acc = staged_sums<K>();
                    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
                        for (std::size_t c = c0; c < c1; ++c) {
                            const auto sums = kernels::chain_backward_sums(
                                arch{}, chain_ops<K>(c), channel<S>(zi, c),
                                dout + c * batch_ * S::plane, dz + c * batch_ * S::plane,
                                batch_ * S::plane);
                            std::copy_n(sums.data(), n_acc, staging_.data() + c * (n_acc + 1));
                        }
                    });
                    commit_staged<K>(S::channels, false);
                }
            }
            if constexpr (g.normalization) {
                // Window-ordered z comes from an evaluation forward, whose statistics were
                // constants: there is no correction (correct() would return anyway).
                if (!windowed) {
                    auto nio = io<g.chain_begin>();
                    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
                        for (std::size_t c = c0; c < c1; ++c)
                            maso::get<g.chain_begin>(layers_).correct(nio, c, channel<S>(zi, c),
                                                                      dz + c * batch_ * S::plane,
                                                                      batch_ * S::plane);
                    });
                }
            }
            if constexpr (bias_before_norm<K>()) {
                // Over z's columns: a window order's padding columns have dz = 0.
                const auto b = maso::get<g.begin>(layers_).bias(io<g.begin>(), 0);
                maso::detail::add_bias_gradient(dz, b.grad, S::channels, z_ld, z_ld);
            }
            if constexpr (tile_path<K>())
                maso::get<g.begin>(layers_).backward_affine(
                    io<g.begin>(act(g.begin - 1), act(g.begin), dz, input_grad_of(g.begin - 1)),
                    z_order_[K]);
            else if constexpr (g.contraction)
                maso::get<g.begin>(layers_).backward_affine(
                    io<g.begin>(act(g.begin - 1), act(g.begin), dz, input_grad_of(g.begin - 1)));
        }
    }

    template <class S>
    T* channel(std::size_t i, std::size_t c) {
        return act(i) + c * batch_ * S::plane;
    }
    /// Plane buffer k (0 or 1) of pool thread t: after the layers' scratch, two planes of
    /// the largest fused window input per thread.
    T* plane_buffer(std::size_t k, std::size_t t) {
        return scratch_.data() + plane_offset_ + (2 * t + k) * plane_size_;
    }
    /// f(c, t) for every channel c < channels, split among the pool's threads (t: the
    /// thread, whose plane buffers f may use) — on the caller alone if the pool has grown
    /// past the threads the buffers were made for.
    template <class F>
    void for_each_channel_with_planes(std::size_t channels, F&& f) {
        if (num_threads() > plane_slots_) {
            for (std::size_t c = 0; c < channels; ++c)
                f(c, std::size_t{0});
            return;
        }
        parallel_for(channels, [&](std::size_t c0, std::size_t c1, std::size_t t) {
            for (std::size_t c = c0; c < c1; ++c)
                f(c, t);
        });
    }

    Net net_; ///< the nodes, for their names in messages
    std::array<std::string, node_count> names_;
    layers_t layers_;
    std::size_t batch_;
    std::array<std::size_t, node_count + 1> param_offset_{};
    std::array<std::size_t, node_count + 1> state_offset_{};
    std::size_t plane_offset_ = 0;
    std::size_t plane_size_ = 0, plane_slots_ = 1; ///< the window passes' planes (plane_buffer)
    std::vector<T> params_, grads_, state_, scratch_;
    std::vector<T> staging_; ///< per-channel gradient sums of a parallel pass (header comment)
    std::vector<T> tile_stats_; ///< the statistics epilogue's (x₀, δ, Σ(x − x₀ − δ)²) per row, tile
    /// The column order each group's last forward wrote z in (natural, or windows).
    std::array<kernels::patch_order, groups.size()> z_order_{};
    std::array<std::vector<T>, node_count> act_, dact_;
};

} // namespace maso::plan
