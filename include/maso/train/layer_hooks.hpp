// maso/train/layer_hooks.hpp — the work a layer does once per training step, outside the
// forward and backward passes of its group: the orthogonality constraints of dense and conv2d
// (ortho/constrained_weight.hpp).
//
// A layer may have two hooks, found by a `requires` check (no hook, nothing runs):
//   double prepare(const io&)        before the forward pass. Returns a term the model adds
//                                    to the loss (a penalty's λ·P(W); else 0).
//   void finish_backward(const io&)  after the backward pass: the gradients the passes left
//                                    in the layer's own buffers (dV) go into its parameter
//                                    gradients, and a penalty adds λ·∂P/∂W.
// The io they get holds the layer's parameters, gradients and the phase, and io.loss is not
// null when the forward pass computes a loss (the network ends in one and labels were given):
// a loss term counts only then, so that backward is the gradient of what forward returned.
//
// model::forward calls prepare_layers(program) before program.forward(), model::backward
// finish_layers(program) after program.backward(): the runtime itself knows nothing of them.
// A numeric_error from a hook (a weight that is not finite, rows that cannot be
// orthogonalised) comes out naming the node, as the program's own errors do.
#pragma once

#include <maso/core/error.hpp>

#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

namespace maso::detail {

template <class L>
concept has_prepare = requires(L& l, const typename L::io& io) {
    { l.prepare(io) } -> std::convertible_to<double>;
};
template <class L>
concept has_finish_backward = requires(L& l, const typename L::io& io) {
    l.finish_backward(io);
};

/// The io a hook of node I sees: its parameters, their gradients and the phase.
template <std::size_t I, class Program>
auto hook_io(Program& p) {
    using L = std::decay_t<decltype(p.template layer<I>())>;
    typename L::io io;
    io.params = p.template parameters<I>();
    io.grads = p.template gradients<I>();
    io.phase = p.phase;
    io.labels = p.labels;
    io.loss = p.labels ? &p.loss : nullptr; // a loss to add a term to: labels were given
    return io;
}

/// Runs f(), with a numeric_error's "maso: <layer>: …" turned into "maso: node i (<name>): …".
template <class Program, class F>
auto naming_node(const Program& p, std::size_t i, F&& f) {
    try {
        return f();
    } catch (const numeric_error& e) {
        const std::string what = e.what();
        const std::size_t tag = what.find(": ", 6);
        throw numeric_error("maso: node " + std::to_string(i) + " (" + p.node_name(i) + ")" +
                            (tag == std::string::npos ? ": " + what : what.substr(tag)));
    }
}

template <class Program, class F>
void for_each_layer(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<Program::node_count>{});
}

/// Every layer's prepare, in node order; the sum of the loss terms they return.
template <class Program>
double prepare_layers(Program& p) {
    double term = 0;
    for_each_layer<Program>([&](auto i) {
        using L = std::decay_t<decltype(p.template layer<i>())>;
        if constexpr (has_prepare<L>)
            term += naming_node(p, i, [&] { return p.template layer<i>().prepare(hook_io<i>(p)); });
    });
    return term;
}

/// Every layer's finish_backward, in reverse node order (as the backward pass runs).
template <class Program>
void finish_layers(Program& p) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        auto one = [&](auto i) {
            using L = std::decay_t<decltype(p.template layer<i>())>;
            if constexpr (has_finish_backward<L>)
                naming_node(p, i, [&] { p.template layer<i>().finish_backward(hook_io<i>(p)); });
        };
        (one(std::integral_constant<std::size_t, Program::node_count - 1 - I>{}), ...);
    }
    (std::make_index_sequence<Program::node_count>{});
}

} // namespace maso::detail
