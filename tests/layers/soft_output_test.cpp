// Tests of include/maso/layers/soft_output.hpp: sigmoid(β) and tanh(β) as layers.
#include <maso/layers/soft_output.hpp>

#include <maso_test/expect_layer.hpp>

#include <cmath>
#include <vector>

using namespace maso;

namespace {

/// y of a soft-output layer on x, batch 1, in T.
template <class S, class Node, class T>
std::vector<T> run_forward(const Node& node, const std::vector<T>& x) {
    using L = typename Node::template layer<S, T>;
    const L layer(node);
    std::vector<T> params(layer.parameter_count()), y(x.size());
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(std::span<T>(params), ctx);
    layer_io<S, S, T> io;
    io.x = {x.data(), x.size() / S::size};
    io.y = {y.data(), x.size() / S::size};
    io.params = params;
    layer.forward(io);
    return y;
}

double eta_of(double b) { return b / (1 - b); }

} // namespace

BOOST_AUTO_TEST_CASE(gradients_for_every_beta_kind) {
    using S = shape<3, 2, 3>;
    maso_test::expect_layer_gradients<S>(maso::sigmoid());
    maso_test::expect_layer_gradients<S>(maso::sigmoid(0.8f));
    maso_test::expect_layer_gradients<S>(maso::sigmoid(learnable(0.3f)));
    maso_test::expect_layer_gradients<S>(maso::sigmoid(learnable_per_channel(0.6f)));
    maso_test::expect_layer_gradients<S>(maso::sigmoid(0.f), {.batch = 3}); // η = 0: ½
    maso_test::expect_layer_gradients<S>(maso::tanh());
    maso_test::expect_layer_gradients<S>(maso::tanh(0.2f));
    maso_test::expect_layer_gradients<S>(maso::tanh(learnable(0.7f)));
    maso_test::expect_layer_gradients<S>(maso::tanh(learnable_per_channel(0.4f)));
    // SIMD tails: 1, 7 and 13 values per channel
    maso_test::expect_layer_gradients<shape<2>>(maso::sigmoid(learnable(0.6f)), {.batch = 1});
    maso_test::expect_layer_gradients<shape<5>>(maso::tanh(learnable_per_channel(0.5f)),
                                                {.batch = 7});
    maso_test::expect_layer_gradients<shape<1, 1, 13>>(maso::sigmoid(learnable(0.45f)));
}

BOOST_AUTO_TEST_CASE(values_are_sigmoid_and_tanh_of_eta_z) {
    using S = shape<2, 1, 9>;
    const auto x = maso_test::uniform_vector<double>(S::size, -4, 4);
    const std::vector<float> xf(x.begin(), x.end());
    for (const float b : {0.f, 0.2f, 0.5f, 0.8f, 0.95f}) {
        const double eta = eta_of(b);
        const auto ys = run_forward<S>(maso::sigmoid(b), x);
        const auto yt = run_forward<S>(maso::tanh(b), x);
        const auto ysf = run_forward<S>(maso::sigmoid(b), xf);
        const auto ytf = run_forward<S>(maso::tanh(b), xf);
        for (std::size_t i = 0; i < x.size(); ++i)
            BOOST_TEST_CONTEXT("beta " << b << ", z = " << x[i]) {
                const double s = 1 / (1 + std::exp(-eta * x[i])), t = std::tanh(eta * x[i]);
                MASO_CHECK_CLOSE(ys[i], s, 1e-13, 1e-13);
                MASO_CHECK_CLOSE(yt[i], t, 1e-13, 1e-13);
                // float: the readout w_0 + (w_1 − w_0) p_1 is exact to ~1e-7 absolute,
                // so near tanh = 0 the relative error grows (scale 0.1 → 1e-6 absolute)
                MASO_CHECK_CLOSE(ysf[i], s, 1e-5, 0.1);
                MASO_CHECK_CLOSE(ytf[i], t, 1e-5, 0.1);
            }
    }
}

BOOST_AUTO_TEST_CASE(saturated_inputs_stay_finite) {
    using S = shape<1, 1, 4>;
    const std::vector<float> x{-1e4f, -100.f, 100.f, 1e4f};
    const auto ys = run_forward<S>(maso::sigmoid(0.9f), x);
    const auto yt = run_forward<S>(maso::tanh(0.9f), x);
    const std::vector<float> s{0, 0, 1, 1}, t{-1, -1, 1, 1};
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_CHECK_EQUAL(ys[i], s[i]);
        BOOST_CHECK_EQUAL(yt[i], t[i]);
    }
}

BOOST_AUTO_TEST_CASE(beta_one_is_the_hard_readout_without_gradient) {
    // β = 1 is the hard VQ: the sigmoid is the step 1{z > 0}, tanh the sign, z = 0 taking
    // region 0 (the tie rule). Their derivative is 0: the capped η = 1e30 of the soft pass
    // gave ≈ 1e-5 everywhere and ≈ 1e30 at z = 0 instead.
    using S = shape<1, 1, 7>;
    const std::vector<float> x{-3.f, -1e-20f, 0.f, 1e-20f, 1e-6f, 2.f, -0.f};
    const std::vector<float> step{0, 0, 0, 1, 1, 1, 0}, sign{-1, -1, -1, 1, 1, 1, -1};
    const auto check = [&](const auto& node, const std::vector<float>& expected) {
        using L = typename std::decay_t<decltype(node)>::template layer<S, float>;
        const L layer(node);
        std::vector<float> y(7), dx(7, 99.f);
        const std::vector<float> dy{1, 2, 3, 4, 5, 6, 7};
        layer_io<S, S, float> io;
        io.x = {x.data(), 1};
        io.y = {y.data(), 1};
        io.dy = {dy.data(), 1};
        io.dx = {dx.data(), 1};
        layer.forward(io);
        layer.backward(io);
        for (std::size_t i = 0; i < 7; ++i)
            BOOST_TEST_CONTEXT("z = " << x[i]) {
                BOOST_CHECK_EQUAL(y[i], expected[i]);
                BOOST_CHECK_EQUAL(dx[i], 0.f);
            }
    };
    check(maso::sigmoid(1.f), step);
    check(maso::tanh(1.f), sign);
}

BOOST_AUTO_TEST_CASE(per_channel_beta_is_per_channel) {
    using S = shape<2, 1, 3>;
    using L = soft_output_node<vq::sigmoid_output>::layer<S, double>;
    const L layer(maso::sigmoid(learnable_per_channel(0.5f)));
    const std::vector<double> x{-1, 0.5, 2, -1, 0.5, 2}, params{0.0, std::log(3.0)}; // η = 1, 3
    std::vector<double> y(6);
    layer_io<S, S, double> io;
    io.x = {x.data(), 1};
    io.y = {y.data(), 1};
    io.params = params;
    layer.forward(io);
    for (std::size_t i = 0; i < 3; ++i) {
        MASO_CHECK_CLOSE(y[i], maso_test::sigmoid(x[i]), 1e-14, 1e-14);
        MASO_CHECK_CLOSE(y[3 + i], maso_test::sigmoid(3 * x[i]), 1e-14, 1e-14);
    }
}

BOOST_AUTO_TEST_CASE(op_is_the_layer_pass) {
    // The op the planner chains computes what the layer does.
    using S = shape<1, 1, 5>;
    using L = soft_output_node<vq::tanh_output>::layer<S, double>;
    const L layer(maso::tanh(learnable(0.6f)));
    std::vector<double> params(1), grads(1);
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(std::span<double>(params), ctx);
    layer_io<S, S, double> io;
    io.params = params;
    io.grads = grads;
    const auto o = layer.op(io, 0);
    static_assert(decltype(o)::accumulators == 1);
    const double eta = eta_of(0.6f), z = 0.7, dy = 1.3;
    MASO_CHECK_CLOSE(o.forward(z), std::tanh(eta * z), 1e-14, 1e-14);
    double acc = 0;
    const double dz = o.backward(z, dy, &acc);
    MASO_CHECK_CLOSE(dz, dy * eta * maso_test::tanh_slope(eta * z), 1e-13, 1e-13);
    MASO_CHECK_CLOSE(acc, dy * eta * z * maso_test::tanh_slope(eta * z), 1e-13, 1e-13); // ∂/∂θ
    o.commit(&acc);
    BOOST_CHECK_EQUAL(grads[0], acc);
}

BOOST_AUTO_TEST_CASE(beta_gradient_without_dx) {
    using S = shape<3, 1, 6>;
    using L = soft_output_node<vq::sigmoid_output>::layer<S, double>;
    const L layer(maso::sigmoid(learnable_per_channel(0.3f)));
    const auto x = maso_test::uniform_vector<double>(S::size * 2, -2, 2);
    const auto dy = maso_test::uniform_vector<double>(S::size * 2, -1, 1);
    std::vector<double> params(3), g1(3), g2(3), y(x.size()), dx(x.size()),
        scratch(layer.scratch_size(2));
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(std::span<double>(params), ctx);
    layer_io<S, S, double> io;
    io.x = {x.data(), 2};
    io.y = {y.data(), 2};
    io.dy = {dy.data(), 2};
    io.dx = {dx.data(), 2};
    io.params = params;
    io.grads = g1;
    io.scratch = scratch;
    layer.backward(io);
    io.dx = {nullptr, 2};
    io.grads = g2;
    layer.backward(io);
    for (std::size_t c = 0; c < 3; ++c)
        MASO_CHECK_CLOSE(g2[c], g1[c], 1e-14, 1e-14);
}

BOOST_AUTO_TEST_CASE(bad_beta_is_refused) {
    BOOST_CHECK_THROW(maso::sigmoid(1.5f), value_error);
    BOOST_CHECK_THROW(maso::sigmoid(learnable(1.f)), value_error);
    BOOST_CHECK_THROW(maso::tanh(-0.1f), value_error);
    BOOST_CHECK_THROW(maso::tanh(learnable_per_channel(1.f)), value_error);
}

BOOST_AUTO_TEST_CASE(metadata) {
    using sig = soft_output_node<vq::sigmoid_output>;
    using th = soft_output_node<vq::tanh_output>;
    static_assert(sig::kind == node_kind::elementwise && th::kind == node_kind::elementwise);
    static_assert(sig::check<shape<3, 4, 4>>() == diag::ok);
    static_assert(th::check<shape<10>>() == diag::ok);
    static_assert(std::is_same_v<sig::output_shape<shape<3, 4, 4>>, shape<3, 4, 4>>);
    static_assert(std::is_same_v<decltype(maso::sigmoid()), sig>);
    static_assert(std::is_same_v<decltype(maso::tanh()), th>);
    const sig::layer<shape<4, 2, 2>, float> fixed(maso::sigmoid(0.7f));
    const th::layer<shape<4, 2, 2>, float> per_channel(maso::tanh(learnable_per_channel(0.7f)));
    BOOST_CHECK_EQUAL(fixed.parameter_count(), 0u);
    BOOST_CHECK_EQUAL(per_channel.parameter_count(), 4u);
    BOOST_CHECK_EQUAL(sig::name(maso::sigmoid()), "sigmoid(β = 0.5)");
    BOOST_CHECK_EQUAL(th::name(maso::tanh(learnable(0.25f))), "tanh(β = 0.25, learnable)");
}
