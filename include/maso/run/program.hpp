// maso/run/program.hpp — a network's plan as a running program: its layers, every buffer,
// and forward and backward as one kernel per group.
//
// program<Net, Policy, T, Arch> owns every layer, the parameter, gradient, state and scratch
// buffers and the activations the plan keeps (plan/backward.hpp), all allocated once in
// the constructor; forward() and backward() then run one kernel per group, in order and in
// reverse, each as its kernel plan says (plan/kernel_plan.hpp, run/group_kernel.hpp) — no
// tape, no virtual call, no allocation. An unfused group runs the node's own forward and
// backward.
//
// Threads (core/thread_pool.hpp): the GEMMs split their tiles, the per-channel passes the
// channels; every parameter-gradient sum and batch statistic is formed in an order that
// does not depend on the thread count (run/group_context.hpp, run/statistics_epilogue.hpp),
// so results are bitwise the same for any number of threads.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/profile.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/implicit_conv.hpp>
#include <maso/plan/backward.hpp>
#include <maso/plan/fuse.hpp>
#include <maso/plan/infer_shapes.hpp>
#include <maso/plan/kernel_plan.hpp>
#include <maso/run/codes.hpp>
#include <maso/run/group_context.hpp>
#include <maso/run/group_kernel.hpp>
#include <maso/run/trace.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <unistd.h> // sysconf: the machine's memory, which a batch's buffers must fit

namespace maso::run {

namespace detail {
struct no_layer {
    explicit no_layer(const auto&) {}
    std::size_t parameter_count() const { return 0; }
    std::size_t state_size(std::size_t) const { return 0; }
    std::size_t scratch_size(std::size_t) const { return 0; }
};

template <class Net, class T, class Arch, std::size_t I>
struct layer_of {
    using node = type_at_t<I, plan::flatten_t<Net>>;
    using type = typename node::template layer<plan::input_shape_t<Net, I>, T, Arch>;
};
template <class Net, class T, class Arch>
struct layer_of<Net, T, Arch, 0> {
    using type = no_layer;
};

// What the programs' constructors and messages need that does not depend on the network:
// out of the templates, so a translation unit compiles it once, not once per program.

/// A layer's message "maso: <layer>: <what>" as node `node`'s: "maso: node 4 (<name>): <what>".
inline std::string node_message(std::size_t node, const std::string& name,
                                const std::string& what) {
    const std::size_t tag = what.find(": ", 6);
    return "maso: node " + std::to_string(node) + " (" + name + ")" +
           (tag == std::string::npos ? ": " + what : what.substr(tag));
}

[[noreturn]] inline void refuse_batch_memory(std::size_t batch) {
    throw value_error("maso: a batch of " + std::to_string(batch) +
                      " images needs more memory than can be allocated");
}

/// Refuses a batch of 0, one for which the largest buffer, with room to spare, would not fit
/// a std::size_t (or a vector), and one whose buffers exceed the machine's memory — before
/// anything is asked of the allocator: a failed allocation is not always a bad_alloc
/// (AddressSanitizer aborts, and with overcommit the process may be killed later instead).
/// per_image: the values a program's buffers hold per image; value_size: sizeof(T).
inline void check_batch_size(std::size_t batch, std::size_t per_image, std::size_t value_size) {
    if (batch == 0) throw value_error("maso: the batch size must be at least 1");
    // 64: the window orders and tile statistics add at most a few times an activation.
    const std::size_t limit =
        std::size_t(std::numeric_limits<std::ptrdiff_t>::max()) / value_size / 64 / per_image;
    if (batch > limit)
        throw value_error("maso: a batch of " + std::to_string(batch) +
                          " images is impossible: this network's buffers hold " +
                          std::to_string(per_image) +
                          " values per image, and the largest "
                          "batch they can be sized for is " +
                          std::to_string(limit));
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0 &&
        double(batch) * double(per_image) * double(value_size) > double(pages) * double(page))
        refuse_batch_memory(batch);
}

template <class Net, class T, class Arch, class Seq>
struct layers_tuple;
template <class Net, class T, class Arch, std::size_t... I>
struct layers_tuple<Net, T, Arch, std::index_sequence<I...>> {
    using type = flat_tuple<typename layer_of<Net, T, Arch, I>::type...>;
};
} // namespace detail

/// Arch: the instruction set every kernel of the program is built for; by default the
/// widest the compile flags allow. It is part of the type (and of every layer's), so two
/// translation units built for different instruction sets share no symbol of a program.
template <class Net, class Policy, class T = float, class Arch = xsimd::default_arch>
class program {
public:
    using value_type = T;
    using arch_type = Arch;
    using nodes = plan::flatten_t<Net>;
    using shapes = plan::shapes_t<Net>;
    using memory_plan = plan::backward_plan<Net, Policy>;
    static constexpr std::size_t node_count = nodes::size;
    static constexpr auto groups = plan::groups_v<Net, Policy>;
    /// Each group's kernel plan, for values T on this program's ISA: what runs.
    static constexpr auto plans = plan::kernel_plans_v<Net, Policy, T, arch_type>;
    template <std::size_t I>
    using node_t = type_at_t<I, nodes>;
    template <std::size_t I>
    using layer_t = typename detail::layer_of<Net, T, Arch, I>::type;
    using layers_t =
        typename detail::layers_tuple<Net, T, Arch, std::make_index_sequence<node_count>>::type;
    template <std::size_t I>
    using out_shape = plan::output_shape_t<Net, I>;

    program(const Net& net, std::size_t batch)
        : net_(net), layers_(make_layers(net, std::make_index_sequence<node_count>{})),
          batch_(batch) {
        for_each_node([&](auto i) { names_[i] = node_t<i>::name(maso::get<i>(net_.nodes)); });
        detail::check_batch_size(batch, values_per_image(), sizeof(T));
        try {
            allocate(batch);
        } catch (const std::bad_alloc&) {
            detail::refuse_batch_memory(batch);
        } catch (const std::length_error&) {
            detail::refuse_batch_memory(batch);
        }
    }

    // ---- running -----------------------------------------------------------------------
    /// Runs every group; a maso::numeric_error from a layer (batch statistics that are not
    /// finite) comes out naming the node: "maso: node 4 (batch_norm(…)): …".
    void forward() {
        if (recording_) std::fill(code_words_.begin(), code_words_.end(), std::uint64_t{0});
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

    /// From the next forward on, the fused kernels record every unit's code (and with
    /// `posteriors` the β-VQ posteriors of the elementwise units and of the windows)
    /// as they run: run/codes.hpp.
    /// The buffers are sized here, once; forward still allocates nothing. Off stops the
    /// recording and keeps the buffers. An unfused program (fuse::none) runs no fused
    /// kernel, and refuses.
    void record_codes(bool on = true, bool posteriors = false) {
        if (!on) {
            recording_ = false;
            return;
        }
        if constexpr (!Policy::fused)
            throw value_error("maso: record_codes: the codes come from the fused kernels; "
                              "this program runs fuse::none");
        std::size_t words = 0, values = 0;
        std::array<node_codes<T>, node_count> c{};
        // Posteriors: of every node with codes (the elementwise units and the windows).
        auto with_posteriors = [&](std::size_t i) { return posteriors && c[i].regions != 0; };
        for_each_node([&](auto i) { c[i] = code_layout<i>(); });
        for (std::size_t i = 0; i < node_count; ++i) {
            const node_codes<T>& n = c[i];
            words += n.channels * n.planes() * n.ld / 64;
            if (with_posteriors(i)) values += n.channels * n.posterior_rows() * n.ld;
        }
        code_words_.assign(words, 0);
        code_posteriors_.assign(values, T(0));
        words = values = 0;
        for (std::size_t i = 0; i < node_count; ++i) {
            node_codes<T>& n = c[i];
            if (n.regions != 0) n.bits = code_words_.data() + words;
            words += n.channels * n.planes() * n.ld / 64;
            if (with_posteriors(i)) {
                n.posteriors = code_posteriors_.data() + values;
                values += n.channels * n.posterior_rows() * n.ld;
            }
        }
        codes_ = c;
        recording_ = true;
    }
    bool records_codes() const noexcept { return recording_; }
    /// Every node's codes of the last forward (regions 0: a node without units).
    const std::array<node_codes<T>, node_count>& codes() const noexcept { return codes_; }

    /// The network the program runs (its nodes' run-time settings).
    const Net& net() const noexcept { return net_; }
    /// Node i's name, as describe() prints it: "conv2d<96, 3, stride 1, same>".
    const std::string& node_name(std::size_t i) const { return names_[i]; }
    std::span<const std::string> node_names() const noexcept { return names_; }

private:
    /// Every buffer's size is a product of the batch and a size per image that the shapes
    /// fix: what detail::check_batch_size weighs a batch against.
    std::size_t values_per_image() const {
        std::size_t per_image = 1;
        for_each_node([&](auto i) {
            const auto& L = maso::get<i>(layers_);
            per_image += 2 * out_shape<i>::size + L.scratch_size(1) + L.state_size(1);
        });
        return per_image + kernels::padded_size(input_geometry_for(1)) + 1;
    }

    /// Where node I's codes will go: which node has units, how many regions, and the
    /// columns of a row — for a unit of a kernel's chain the most its z can have in either
    /// mode's order (plan/kernel_plan.hpp), for a window its output's. Pointers are set by
    /// record_codes.
    template <std::size_t I>
    node_codes<T> code_layout() const {
        node_codes<T> n;
        constexpr std::size_t regions = [] {
            if constexpr (I > 0)
                return code_regions_of<node_t<I>, out_shape<I - 1>>();
            else
                return std::size_t{0};
        }();
        if constexpr (regions != 0) {
            using S = out_shape<I>;
            n.regions = regions;
            n.channels = S::channels;
            n.height = S::height;
            n.width = S::width;
            n.ld = batch_ * S::plane;
            // A window pooled on the tiles takes a word per tile's windows (node_codes::group).
            if constexpr (node_t<I>::kind == node_kind::window) {
                constexpr std::size_t k = group_of(I);
                if constexpr (plans[k].window != 0)
                    n.ld = std::max(n.ld, (n.ld + plans[k].lanes - 1) / plans[k].lanes * 64);
            }
            if constexpr (node_t<I>::kind == node_kind::elementwise) {
                constexpr std::size_t k = group_of(I);
                constexpr plan::group g = groups[k];
                if constexpr (g.contraction)
                    for (const mode m : {mode::training, mode::evaluation})
                        n.ld =
                            std::max(n.ld, layer_t<g.begin>::columns(batch_, plans[k].z_order(m)));
            }
            n.ld = (n.ld + 63) / 64 * 64; // whole words a row
        }
        return n;
    }
    /// The group that holds node i.
    static constexpr std::size_t group_of(std::size_t i) {
        for (std::size_t k = 0; k < groups.size(); ++k)
            if (i >= groups[k].begin && i < groups[k].end) return k;
        return groups.size();
    }

    std::string named(std::size_t node, const std::string& what) const {
        return detail::node_message(node, node_name(node), what);
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
            constexpr plan::group g = groups[k];
            if constexpr (g.fused && g.window && !g.channel_window)
                planes = std::max(planes, out_shape<g.end - 2>::plane);
        });
        std::size_t staging = 0, stats = 0;
        for_each_group([&](auto k) {
            constexpr plan::kernel_plan p = plans[k];
            if constexpr (p.fused) {
                using ctx = run::group_context<program, decltype(k)::value>;
                staging = std::max(staging, ctx::z_shape::channels * (ctx::chain_sums + 1));
                if constexpr (p.training.product == plan::product_kind::statistics)
                    stats = std::max(stats, run::statistics_size<ctx>(batch));
                // Window order pads z to whole groups of windows (kernels/patch_order.hpp).
                if constexpr (p.window != 0) {
                    constexpr std::size_t zi = p.g.begin;
                    const std::size_t z =
                        out_shape<zi>::channels *
                        layer_t<zi>::columns(batch,
                                             kernels::patch_order::windows(p.window, p.lanes));
                    if (act_[zi].size() < z) {
                        act_[zi].assign(z, T(0));
                        dact_[zi].assign(z, T(0));
                    }
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
        kernels::reserve_workspace<Arch, T>();
    }

public:
    // ---- data ----------------------------------------------------------------------------
    std::size_t batch() const noexcept { return batch_; }
    /// Where node i's parameters start in parameters(), its state in state().
    std::size_t parameter_offset(std::size_t i) const noexcept { return param_offset_[i]; }
    std::size_t state_offset(std::size_t i) const noexcept { return state_offset_[i]; }
    std::span<const std::size_t> parameter_offsets() const noexcept { return param_offset_; }
    std::span<const std::size_t> state_offsets() const noexcept { return state_offset_; }
    /// Node i's output as the plan keeps it (empty if it does not): in the layout the
    /// kernels wrote it in, for checks that read every value whatever its place.
    std::span<const T> kept_output(std::size_t i) const noexcept { return act_[i]; }
    /// Every node's kept output (empty where the plan keeps none).
    std::span<const std::vector<T>> kept_outputs() const noexcept { return act_; }
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
    template <std::size_t... I>
    static layers_t make_layers(const Net& net, std::index_sequence<I...>) {
        return layers_t{std::in_place, typename detail::layer_of<Net, T, Arch, I>::type(
                                           maso::get<I>(net.nodes))...};
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

    // ---- the groups' kernels ----------------------------------------------------------

    /// What group K's kernel sees (run/group_context.hpp).
    template <std::size_t K>
    run::group_context<program, K> context() {
        constexpr plan::group g = groups[K];
        constexpr std::size_t zi = g.contraction ? g.begin : g.begin - 1;
        const run::node_buffers<T, node_count> b{
            params_,        grads_,         state_, std::span<T>(scratch_).first(plane_offset_),
            &param_offset_, &state_offset_, labels, &loss};
        run::group_context<program, K> c(layers_, b, batch_, phase);
        c.x = act(g.begin - 1);
        c.z = act(zi);
        c.out = act(g.end - 1);
        c.dz = dact(zi);
        c.dout = dact(g.end - 1);
        c.dx = input_grad_of(g.begin - 1);
        c.staging = staging_;
        c.tile_stats = tile_stats_;
        c.planes = {scratch_.data() + plane_offset_, plane_size_, plane_slots_};
        c.codes = recording_ ? codes_.data() : nullptr;
        return c;
    }

    template <std::size_t K>
    void group_forward() {
        constexpr plan::group g = groups[K];
        if constexpr (!plans[K].fused) {
            MASO_RUN_TRACE(K, false, "node");
            MASO_RUN_PROFILE(K, false, "node", 0);
            maso::get<g.begin>(layers_).forward(
                io<g.begin>(act(g.begin - 1), act(g.begin), nullptr, nullptr));
        } else {
            z_order_[K] = run::group_forward(context<K>());
            if (recording_) { // the units read z's columns in the order this forward wrote
                for (std::size_t i = g.chain_begin; i < g.chain_end; ++i)
                    codes_[i].order = z_order_[K];
                // A window pooled on the tiles: a word per tile's windows.
                if constexpr (plans[K].window != 0)
                    codes_[g.end - 1].group = z_order_[K].is_natural() ? 0 : plans[K].lanes;
            }
        }
    }

    template <std::size_t K>
    void group_backward() {
        constexpr plan::group g = groups[K];
        if constexpr (!plans[K].fused) {
            MASO_RUN_TRACE(K, true, "node");
            MASO_RUN_PROFILE(K, true, "node", 0);
            constexpr bool affine = node_t<g.begin>::kind == node_kind::contraction;
            maso::get<g.begin>(layers_).backward(
                io<g.begin>(act(g.begin - 1), act(g.begin), dact(g.begin),
                            affine ? input_grad_of(g.begin - 1) : dact(g.begin - 1)));
        } else {
            run::group_backward(context<K>(), z_order_[K]);
        }
    }

    Net net_; ///< the nodes, for their names in messages
    std::array<std::string, node_count> names_;
    layers_t layers_;
    std::size_t batch_;
    std::array<std::size_t, node_count + 1> param_offset_{};
    std::array<std::size_t, node_count + 1> state_offset_{};
    std::size_t plane_offset_ = 0;
    std::size_t plane_size_ = 0, plane_slots_ = 1; ///< the window passes' plane buffers
    std::vector<T> params_, grads_, state_, scratch_;
    std::vector<T> staging_; ///< per-channel gradient sums of a parallel pass
    std::vector<T> tile_stats_; ///< the statistics epilogue's (x₀, δ, Σ(x − x₀ − δ)²) per row, tile
    /// The column order each group's last forward wrote z in (natural, or windows).
    std::array<kernels::patch_order, groups.size()> z_order_{};
    std::array<std::vector<T>, node_count> act_, dact_;
    // The codes (run/codes.hpp): sized by record_codes, written by the fused kernels.
    bool recording_ = false;
    std::vector<std::uint64_t> code_words_;
    std::vector<T> code_posteriors_;
    std::array<node_codes<T>, node_count> codes_{};
};

} // namespace maso::run
