// maso/plan/describe.hpp — the plan in words: one line per kernel, forward and backward.
//
//   std::cout << describe(net);             // fuse::all
//   std::cout << describe(net, fuse::none);
//
// For each kernel: the nodes it runs, its shapes, how it runs (GEMM, epilogue,
// pooling on the plane, the node's own pass), what it keeps for backward and
// what its backward recomputes instead of storing.
#pragma once

#include <maso/plan/backward.hpp>
#include <maso/plan/fuse.hpp>
#include <maso/plan/infer_shapes.hpp>

#include <string>
#include <tuple>

namespace maso {

namespace detail {
template <class S>
std::string shape_string() {
    if constexpr (S::is_vector)
        return std::to_string(S::channels);
    else
        return std::to_string(S::channels) + "×" + std::to_string(S::height) + "×" +
               std::to_string(S::width);
}

template <class Net, std::size_t... I>
std::array<std::string, sizeof...(I)> node_names(const Net& net, std::index_sequence<I...>) {
    return {type_at_t<I, plan::flatten_t<Net>>::name(std::get<I>(net.nodes))...};
}
template <class Net, std::size_t... I>
std::array<std::string, sizeof...(I)> shape_names(std::index_sequence<I...>) {
    return {shape_string<plan::output_shape_t<Net, I>>()...};
}
} // namespace detail

template <class Net, class Policy = fuse::all_t>
std::string describe(const Net& net, Policy = {}) {
    using bp = plan::backward_plan<Net, Policy>;
    constexpr std::size_t n = plan::kinds_v<Net>.size();
    const auto names = detail::node_names(net, std::make_index_sequence<n>{});
    const auto shapes = detail::shape_names<Net>(std::make_index_sequence<n>{});
    std::string out = std::string("plan (") + Policy::name() + "): " + names[0] + ", " +
                      std::to_string(bp::groups.size()) + " kernels\n";
    for (std::size_t k = 0; k < bp::groups.size(); ++k) {
        const auto& g = bp::groups[k];
        const auto& m = bp::memory[k];
        std::string nodes;
        for (std::size_t i = g.begin; i < g.end; ++i)
            nodes += (i > g.begin ? " → " : "") + names[i];
        out += "  kernel " + std::to_string(k) + ": " + nodes + "   [" + shapes[g.begin - 1] +
               " → " + shapes[g.end - 1] + "]\n";
        std::string how, saves, back;
        if (!g.fused) {
            how = std::string("its own pass (") + to_string(plan::kinds_v<Net>[g.begin]) + ")";
            saves = "its input and output";
            back = "its own backward";
        } else {
            if (g.contraction) how += "GEMM";
            if (g.normalization) how += how.empty() ? "batch statistics" : " + batch statistics";
            const bool chain = g.chain_end > g.chain_begin || g.contraction;
            if (chain && (g.size() > 1 || !g.contraction))
                how += std::string(how.empty() ? "" : " + ") + "one epilogue pass (bias, units)";
            if (g.window) how += " with the pooling window applied per plane";
            saves = "the kernel's input";
            if (m.saves_affine_output) saves += ", z = W·x";
            if (g.normalization) saves += ", batch statistics";
            back = "one pass over (z, dy)";
            if (m.recomputes_chain) back += " recomputing the units in registers";
            if (m.recomputes_window_input) back += " and the window's input plane";
            back += ", reducing bias and β gradients in the same pass";
            if (g.normalization) back += "; batch-norm correction";
            if (g.contraction) back += "; then dW += dz·xᵀ, dx = Wᵀ·dz";
        }
        out += "      forward:  " + how + "\n      saves:    " + saves +
               "\n      backward: " + back + "\n";
    }
    return out;
}

} // namespace maso
