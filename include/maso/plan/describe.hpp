// maso/plan/describe.hpp — the plan in words: one line per kernel, forward and backward.
//
//   std::cout << describe(net);             // fuse::all
//   std::cout << describe(net, fuse::none);
//
// For each kernel: the nodes it runs, its shapes, how it runs (GEMM, epilogue on
// the register tiles or a pass over z, pooling in the tiles or on the plane, a
// channel window (maxout) over the tile's rows or across each group of channels of z,
// the node's own pass; a convolution with batch norm in training and in evaluation, as
// its tiles differ), what it keeps for backward and what its backward recomputes
// instead of storing; for a layer with an orthogonality constraint, what it does once per
// step before forward and after backward (ortho/constrained_weight.hpp). Tiles are as a
// float program on the default ISA would run them (plan/tiles.hpp).
#pragma once

#include <maso/plan/backward.hpp>
#include <maso/plan/fuse.hpp>
#include <maso/plan/infer_shapes.hpp>
#include <maso/plan/kernel_plan.hpp>
#include <maso/plan/tiles.hpp>

#include <string>
#include <tuple>

namespace maso {

namespace detail {
/// "C×H×W", or "C" for a vector: one function for every shape.
inline std::string shape_text(bool vector, std::size_t c, std::size_t h, std::size_t w) {
    if (vector) return std::to_string(c);
    return std::to_string(c) + "×" + std::to_string(h) + "×" + std::to_string(w);
}
template <class S>
std::string shape_string() {
    return shape_text(S::is_vector, S::channels, S::height, S::width);
}

template <class Net, std::size_t... I>
std::array<std::string, sizeof...(I)> node_names(const Net& net, std::index_sequence<I...>) {
    return {type_at_t<I, plan::flatten_t<Net>>::name(maso::get<I>(net.nodes))...};
}
/// What each node's orthogonality constraint does (ortho/constrained_weight.hpp), or "".
template <class Net, std::size_t I>
std::string constraint_path(const Net& net) {
    using node = type_at_t<I, plan::flatten_t<Net>>;
    if constexpr (I > 0) {
        using In = plan::input_shape_t<Net, I>;
        if constexpr (requires { node::template constraint_path<In>(maso::get<I>(net.nodes)); })
            return node::template constraint_path<In>(maso::get<I>(net.nodes));
    }
    return {};
}
template <class Net, std::size_t... I>
std::array<std::string, sizeof...(I)> constraint_paths(const Net& net, std::index_sequence<I...>) {
    return {constraint_path<Net, I>(net)...};
}
template <class Net, std::size_t... I>
std::array<std::string, sizeof...(I)> shape_names(std::index_sequence<I...>) {
    return {shape_string<plan::output_shape_t<Net, I>>()...};
}

template <class Net, std::size_t I>
constexpr bool has_bias() {
    using node = type_at_t<I, plan::flatten_t<Net>>;
    if constexpr (node::kind != node_kind::contraction)
        return false;
    else
        return node::template layer<plan::input_shape_t<Net, I>, float>::has_bias;
}
template <class Net, std::size_t... I>
constexpr std::array<bool, sizeof...(I)> biases(std::index_sequence<I...>) {
    return {(I == 0 ? false : has_bias<Net, (I == 0 ? 1 : I)>())...};
}
} // namespace detail

namespace detail {
template <class Net, class Policy>
std::string describe_valid(const Net& net, Policy);
} // namespace detail

template <class Net, class Policy = fuse::all_t>
std::string describe(const Net& net, Policy = {}) {
    [[maybe_unused]] constexpr bool ok = detail::report<(
        plan::flatten<Net>::starts_with_input ? diag::ok : diag::chain_needs_input)>();
    // A chain that reported an error where it was built has no plan, and says so no more.
    if constexpr (!plan::flatten<Net>::valid)
        return std::string();
    else
        return detail::describe_valid(net, Policy{});
}

namespace detail {
/// "      kernels:  forward a, b; backward c, d" — the names the runtime records for the
/// kernels it runs (run/trace.hpp), in training and, where it differs, in evaluation.
inline std::string kernel_names(const plan::kernel_plan& p) {
    auto list = [](plan::kernel_list l) {
        std::string s;
        for (std::size_t i = 0; i < l.size; ++i)
            s += (i ? ", " : "") + std::string(l.names[i]);
        return s;
    };
    const std::string ft = list(plan::forward_kernels(p, mode::training)),
                      fe = list(plan::forward_kernels(p, mode::evaluation)),
                      bt = list(plan::backward_kernels(p, mode::training)),
                      be = list(plan::backward_kernels(p, mode::evaluation));
    std::string s = "      kernels:  forward " + ft + "; backward " + bt + "\n";
    if (fe != ft || be != bt)
        s += "                in evaluation: forward " + fe + "; backward " + be + "\n";
    return s;
}

template <class Net, class Policy>
std::string describe_valid(const Net& net, Policy) {
    using bp = plan::backward_plan<Net, Policy>;
    constexpr std::size_t n = plan::kinds_v<Net>.size();
    const auto names = detail::node_names(net, std::make_index_sequence<n>{});
    const auto shapes = detail::shape_names<Net>(std::make_index_sequence<n>{});
    const auto ortho = detail::constraint_paths(net, std::make_index_sequence<n>{});
    constexpr auto bias = detail::biases<Net>(std::make_index_sequence<n>{});
    // As a float program on the default ISA runs it: the plan the runtime dispatches on.
    constexpr auto plans = plan::kernel_plans_v<Net, Policy>;
    std::string out = std::string("plan (") + Policy::name() + "): " + names[0] + ", " +
                      std::to_string(bp::groups.size()) + " kernels\n";
    // How the input is stored at the edge, when not channel-major (expr/node.hpp).
    if constexpr (bp::input_edge == edge_layout::padded)
        out += "  input: [N][C][H][W] → channel-major, zero-padded by " +
               std::to_string(bp::input_padding) + " for " + names[1] +
               " in the same pass (it pads nothing)\n";
    else if constexpr (bp::input_edge == edge_layout::images)
        out += "  input: kept as given, [N][" + shapes[0] + "]: " + names[1] +
               " reads it as the transposed operand of its products\n";
    for (std::size_t k = 0; k < bp::groups.size(); ++k) {
        const auto& g = bp::groups[k];
        const auto& m = bp::memory[k];
        const plan::kernel_plan& p = plans[k];
        // What the register tiles do, read off the plan.
        const plan::tile_plan t_k{p.evaluation.product == plan::product_kind::tiles,
                                  p.window != 0 || p.channels_on_tiles,
                                  p.training.product == plan::product_kind::statistics};
        std::string nodes;
        for (std::size_t i = g.begin; i < g.end; ++i)
            nodes += (i > g.begin ? " → " : "") + names[i];
        out += "  kernel " + std::to_string(k) + ": " + nodes + "   [" + shapes[g.begin - 1] +
               " → " + shapes[g.end - 1] + "]\n";
        if (!ortho[g.begin].empty()) out += "      ortho:    " + ortho[g.begin] + "\n";
        if (!g.fused) {
            out += std::string("      forward:  the node's own pass (") +
                   to_string(plan::kinds_v<Net>[g.begin]) +
                   ")\n      keeps:    its input and output\n" +
                   "      backward: the node's own backward\n" + kernel_names(p);
            continue;
        }
        // The epilogue's steps, in order: bias (unless batch norm follows), then the chain.
        std::string steps;
        auto add = [&](const std::string& s) { steps += (steps.empty() ? "" : ", ") + s; };
        const bool bias_in_chain = g.contraction && bias[g.begin] && !g.normalization;
        if (bias_in_chain) add("bias");
        for (std::size_t i = g.chain_begin; i < g.chain_end; ++i)
            add(plan::kinds_v<Net>[i] == node_kind::normalization ? "batch-norm apply" : names[i]);
        const bool bias_first = g.contraction && g.normalization && bias[g.begin];
        // A channel window's group of channels (maxout<R>'s R).
        const std::string members =
            g.channel_window ? std::to_string(plan::channel_groups_v<Net>[g.end - 1]) : "";
        // The chain (and window) as one pass over z after the GEMM.
        std::string pass;
        if (!steps.empty() || g.window) {
            pass = std::string("one pass over ") + (g.contraction ? "z" : "x");
            if (!steps.empty()) pass += ": " + steps;
            if (g.window)
                pass += (steps.empty() ? ": " : ", then ") + names[g.end - 1] +
                        (g.channel_window ? " across each group of " + members + " channels"
                                          : std::string(" on each plane"));
        }
        const std::string tile = "z = W·x (GEMM), and on each finished register tile: ";
        const std::string on_tiles =
            tile + (bias_first ? "z += bias, " : "") +
            (steps.empty() ? std::string() : steps + (t_k.window ? ", then " : "")) +
            (t_k.window ? names[g.end - 1] + (g.channel_window
                                                   ? " over each " + members + " rows of the tile"
                                                   : std::string(" over the tile's windows"))
                         : "");
        std::string fwd;
        if (g.contraction) fwd = "z = W·x (GEMM)";
        if (bias_first) fwd += "; z += bias";
        if (g.normalization)
            fwd += std::string(fwd.empty() ? "" : "; ") + "batch statistics of " +
                   (g.contraction ? "z" : "x");
        if (t_k.statistics) {
            // A batch norm's statistics: the batch's in training, gathered on the tiles;
            // the running ones in evaluation, so the chain can join the tiles there.
            const std::string stored = tile + (bias_first ? "z += bias, " : "") + "z stored";
            fwd = "in training, " + stored + " and its batch statistics gathered; then " + pass +
                  "\n                in evaluation (the running statistics), " +
                  (t_k.chain ? on_tiles : stored + "; then " + pass);
        } else if (t_k.chain) {
            fwd = on_tiles;
        } else if (!pass.empty()) {
            fwd += (fwd.empty() ? "" : "; ") + pass;
        }
        std::string keeps = "its input";
        if (m.saves_affine_output) keeps += ", z";
        if (g.normalization) keeps += ", the batch statistics";
        std::string back;
        if (!steps.empty() || g.window) {
            back = "one pass over (" + std::string(g.contraction ? "z" : "x") + ", dy)";
            const std::string plane = steps.empty() ? "plane" : "recomputed plane";
            if (g.channel_window) // always on z in the natural order, tiles or not
                back += ": " + names[g.end - 1] + " backward across each " +
                        (steps.empty() ? "" : "recomputed ") + "group of " + members + " channels";
            else if (g.window)
                back += ": " + names[g.end - 1] + " backward on each " +
                        (!t_k.window       ? plane
                         : !t_k.statistics ? std::string("group of windows")
                                            : plane + " (group of windows after an evaluation "
                                                      "forward)");
            if (!steps.empty())
                back += std::string(g.window ? ", then " : ": ") + "recompute " + steps +
                        " in registers and run them in reverse, reducing their parameter "
                        "gradients in the same pass";
        }
        auto then = [&](const std::string& s) { back += (back.empty() ? "" : "; ") + s; };
        if (g.normalization) then("batch-norm correction");
        if (g.contraction && g.normalization && bias[g.begin]) then("bias gradient");
        if (g.contraction) then("dW += dz·xᵀ, dx = Wᵀ·dz");
        out += "      forward:  " + fwd + "\n      keeps:    " + keeps +
               "\n      backward: " + back + "\n" + kernel_names(p);
    }
    return out;
}
} // namespace detail

} // namespace maso
