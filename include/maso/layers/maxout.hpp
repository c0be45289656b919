// maso/layers/maxout.hpp — maxout<K>(): the max over groups of K consecutive channels.
//
//   y[g][n][h][w] = max_{0 ≤ j < K} x[gK + j][n][h][w],   g = 0 … C/K − 1
//   with a β:       y = Σ_j softmax(η v)_j v_j,  v_j = x[gK + j][n][h][w],  η = β/(1−β)
//
// paper-spec §4.6: channel pooling; unit g at site (h, w) is a MASO whose regions are the
// group's channels (vq::channel_max<K>), inferred hard by default — ties go to the lowest
// channel, as vq/derive.hpp's hard_region, and the gradient to that winner. maxout<K>(β)
// gives its β-VQ inference (§3.1): β = ½ soft channel pooling, β = 0 the channel mean; a
// learnable β is θ = logit(β), one per layer or one per output channel g.
//
// The window spans K channel planes, not one H×W plane: it is not a plane window
// (`fusable` false), but it is pointwise along the columns, so it joins a fused group
// whose head is a contraction as the group's channel window (`channel_window`,
// plan/group.hpp): the K channels are K rows of the contraction's output, reduced by
// `lanes(io, g)` — the window math of layers/detail/window_lanes.hpp with output channel
// g's β — on the GEMM's register tiles or in one pass over z (plan/tiles.hpp, run/).
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/expr/beta_spec.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/beta_source.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/window_lanes.hpp>
#include <maso/simd/batch_loop.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace maso {

template <std::size_t K>
struct maxout_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = false;       ///< not inside one H×W plane …
    static constexpr bool channel_window = true; ///< … but across K rows of a contraction
    static constexpr std::size_t group = K;
    /// Each output element is a unit whose region is the channel chosen (run/codes.hpp).
    static constexpr std::size_t code_regions = K;
    beta_spec beta{1.0f}; ///< β = 1, fixed: the hard max

    bool is_hard() const noexcept { return !beta.learnable && beta.value == 1.0f; }

    static std::string name(const maxout_node& n) {
        const std::string s = "maxout<" + std::to_string(K) + ">";
        return n.is_hard() ? s : s + "(" + n.beta.label() + ")";
    }
    template <class In>
    static consteval diag check() {
        if constexpr (K == 0)
            return diag::zero_extent;
        else if constexpr (!is_shape_v<In>) // a fragment's no_input: nothing to check yet
            return diag::ok;
        else
            return In::channels % K != 0 ? diag::maxout_not_dividing : diag::ok;
    }
    template <class In>
    using output_shape = detail::grouped_shape_t<In, K>;

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_state {
        using arch = Arch;
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t G = output::channels; ///< groups = output channels
        detail::beta_source<T> beta;

        explicit layer(const maxout_node& n) : beta(n.beta, "maxout") {}
        std::size_t parameter_count() const { return beta.parameter_count(G); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(G); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }

        /// Output channel g's window math on lanes (member j = input channel gK + j, the
        /// tie rule's order), for the fused group's tiles and passes: its β, as forward.
        detail::window_lanes<T> lanes(const io& io, std::size_t g) const {
            return detail::window_lanes<T>(beta.of(io.params, g));
        }

        /// backward's ∂L/∂η per group, committed in group order.
        std::size_t scratch_size(std::size_t) const { return G; }

        /// One pass per group g, its K channels read lane by lane (site i of every channel
        /// in one lane) through lanes(io, g): the groups split among the pool's threads.
        void forward(const io& io) const {
            const std::size_t sites = io.x.batch * In::plane;
            parallel_for(G, [&](std::size_t g0, std::size_t g1, std::size_t) {
                for (std::size_t g = g0; g < g1; ++g) {
                    const detail::window_lanes<T> math = lanes(io, g);
                    simd::fused_loop(Arch{}, sites, members(io.x, g),
                                     std::array<T*, 1>{io.y.channel(g)},
                                     [math](const auto& v, auto&) {
                                         return std::array{math.template forward<K>(v)};
                                     });
                }
            });
        }
        /// Every input channel belongs to exactly one group, so dx is written once per value.
        /// Each group's ∂L/∂η is staged in scratch and committed in group order after the
        /// pass (a β shared by the layer gets the same sum for any thread count); the tail's
        /// padded lanes have dy = 0 and add nothing.
        void backward(const io& io) const {
            if (!io.dx.data && !beta.spec.learnable) return;
            if (beta.spec.learnable && io.scratch.size() < G)
                throw error("maso: maxout's backward needs scratch_size() values of scratch");
            const std::size_t sites = io.x.batch * In::plane;
            parallel_for(G, [&](std::size_t g0, std::size_t g1, std::size_t) {
                for (std::size_t g = g0; g < g1; ++g) {
                    const detail::window_lanes<T> math = lanes(io, g);
                    std::array<const T*, K + 1> in;
                    const auto x = members(io.x, g);
                    std::copy(x.begin(), x.end(), in.begin());
                    in[K] = io.dy.channel(g);
                    T deta;
                    if (io.dx.data) {
                        std::array<T*, K> dx;
                        for (std::size_t j = 0; j < K; ++j)
                            dx[j] = io.dx.channel(g * K + j);
                        deta = simd::fused_loop<1>(
                            Arch{}, sites, in, dx, [math](const auto& v, auto& acc) {
                                std::array<std::decay_t<decltype(v[0])>, K> u, dv;
                                std::copy_n(v.begin(), K, u.begin());
                                acc[0] += math.template backward<K>(u, v[K], dv);
                                return dv;
                            })[0];
                    } else {
                        deta = simd::fused_loop<1>(
                            Arch{}, sites, in, std::array<T*, 0>{},
                            [math](const auto& v, auto& acc) {
                                using V = std::decay_t<decltype(v[0])>;
                                std::array<V, K> u, dv;
                                std::copy_n(v.begin(), K, u.begin());
                                acc[0] += math.template backward<K>(u, v[K], dv);
                                return std::array<V, 0>{};
                            })[0];
                    }
                    if (beta.spec.learnable) io.scratch[g] = deta;
                }
            });
            if (beta.spec.learnable)
                for (std::size_t g = 0; g < G; ++g)
                    beta.add_gradient(io.grads, g, io.scratch[g], lanes(io, g).eta);
        }

    private:
        /// Group g's K input channels, member j = channel gK + j (the tie rule's order).
        static std::array<const T*, K> members(const activation<In, const T>& x, std::size_t g) {
            std::array<const T*, K> m;
            for (std::size_t j = 0; j < K; ++j)
                m[j] = x.channel(g * K + j);
            return m;
        }
    };
};

/// Hard maxout: the max over each group of K consecutive channels.
template <std::size_t K>
constexpr maxout_node<K> maxout() {
    return {};
}

/// β-VQ maxout: β-softmax over each group of K channels; β fixed, learnable or per group.
template <std::size_t K>
maxout_node<K> maxout(beta_spec beta) {
    beta.validate("maxout");
    return {beta};
}

} // namespace maso
