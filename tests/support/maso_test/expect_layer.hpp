// maso_test/expect_layer.hpp — one call checks a layer completely (dlib's test_layer habit).
//
// expect_layer_gradients<In>(node) builds the node's layer for input shape In
// in double, draws parameters (glorot) and an input, and checks by central
// differences the gradient of L = Σ w ⊙ y (or the loss, for a loss node) with
// respect to every input value and every parameter (θ of a learnable β
// included); that backward ADDS to parameter gradients (two backward calls give
// twice the gradient) and overwrites dx. Windows at kinks (ties in max pooling,
// z = 0 for hard units) are avoided by the caller's choice of input scale or by
// `prepare`, which may edit the input before the check. A layer with the hooks of
// train/layer_hooks.hpp (an orthogonality constraint) is run as a model runs it: prepare
// before forward, its loss term added to the objective, finish_backward after backward.
#pragma once

#include <maso/expr/node.hpp>
#include <maso/train/layer_hooks.hpp>

#include <maso_test/check.hpp>

#include <functional>
#include <vector>

namespace maso_test {

struct layer_check_options {
    std::size_t batch = 2;
    double input_lo = -2, input_hi = 2;
    maso::mode phase = maso::mode::training;
    maso::initializer init = maso::initializer::glorot_uniform;
    std::function<void(std::vector<double>&)> prepare = {}; ///< edit the input (avoid kinks)
    bool check_input_gradient = true;
};

template <class In, class Node>
void expect_layer_gradients(const Node& node, const layer_check_options& o = {}) {
    using layer_t = typename Node::template layer<In, double>;
    using Out = typename layer_t::output;
    using io_t = maso::layer_io<In, Out, double>;
    layer_t layer(node);
    const std::size_t B = o.batch;

    std::vector<double> params(layer.parameter_count()), grads(params.size());
    std::mt19937_64 rng(7);
    maso::init_context ctx{rng, o.init};
    layer.initialize(std::span<double>(params), ctx);
    auto x = uniform_vector<double>(In::size * B, o.input_lo, o.input_hi);
    if (o.prepare) o.prepare(x);
    const auto w = uniform_vector<double>(Out::size * B, -1, 1);
    std::vector<int> labels(B);
    for (std::size_t n = 0; n < B; ++n)
        labels[n] = int((n * 7 + 3) % Out::channels);
    std::vector<double> y(Out::size * B), dx(In::size * B, 123.0), state(layer.state_size(B)),
        scratch(layer.scratch_size(B) + 1);
    double loss_value = 0;

    auto make_io = [&](const std::vector<double>& xs, const std::vector<double>& ps) {
        io_t io;
        io.x = {xs.data(), B};
        io.y = {y.data(), B};
        io.dy = {w.data(), B};
        io.dx = {dx.data(), B};
        io.params = {ps.data(), ps.size()};
        io.grads = {grads.data(), grads.size()};
        io.state = {state.data(), state.size()};
        io.scratch = {scratch.data(), scratch.size()};
        io.phase = o.phase;
        io.labels = labels.data();
        io.loss = &loss_value;
        return io;
    };
    const bool is_loss = Node::kind == maso::node_kind::loss;
    auto objective = [&](const std::vector<double>& xs, const std::vector<double>& ps) {
        double term = 0;
        if constexpr (maso::detail::has_prepare<layer_t>) term = layer.prepare(make_io(xs, ps));
        layer.forward(make_io(xs, ps));
        if (is_loss) return loss_value + term;
        double l = term;
        for (std::size_t i = 0; i < y.size(); ++i)
            l += w[i] * y[i];
        return l;
    };

    auto backward = [&] {
        layer.backward(make_io(x, params));
        if constexpr (maso::detail::has_finish_backward<layer_t>)
            layer.finish_backward(make_io(x, params));
    };
    const double l0 = objective(x, params);
    BOOST_REQUIRE(std::isfinite(l0));
    backward();
    const std::vector<double> g1 = grads, dx1 = dx;
    objective(x, params);
    backward();
    for (std::size_t i = 0; i < grads.size(); ++i)
        BOOST_TEST_CONTEXT("parameter " << i << ": backward accumulates")
    MASO_CHECK_CLOSE(grads[i], 2 * g1[i], 1e-12, 1e-12);
    for (std::size_t i = 0; i < dx.size(); ++i)
        BOOST_TEST_CONTEXT("input " << i << ": dx is overwritten")
    MASO_CHECK_CLOSE(dx[i], dx1[i], 1e-12, 1e-12);

    if (o.check_input_gradient)
        for (std::size_t i = 0; i < x.size(); ++i) {
            auto xs = x;
            const double fd = central_difference(
                [&](double t) {
                    xs[i] = t;
                    return objective(xs, params);
                },
                x[i]);
            BOOST_TEST_CONTEXT(Node::name(node) << ": input " << i)
            MASO_CHECK_DERIVATIVE(dx1[i], fd, l0);
        }
    for (std::size_t i = 0; i < params.size(); ++i) {
        auto ps = params;
        const double fd = central_difference(
            [&](double t) {
                ps[i] = t;
                return objective(x, ps);
            },
            params[i]);
        BOOST_TEST_CONTEXT(Node::name(node) << ": parameter " << i)
        MASO_CHECK_DERIVATIVE(g1[i], fd, l0);
    }
}

} // namespace maso_test
