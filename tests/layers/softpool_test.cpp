// Tests of include/maso/layers/softpool.hpp: β-softmax pooling, max → softmax → average.
#include <maso/expr/chain.hpp>
#include <maso/layers/avgpool.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxpool.hpp>
#include <maso/layers/softpool.hpp>

#include <maso_test/expect_layer.hpp>

#include <algorithm>
#include <limits>
#include <numeric>

using namespace maso;

namespace {

/// Keeps the order of the values and pulls them ≥ 0.05 apart (the hard path's kinks).
maso_test::layer_check_options away_from_ties() {
    maso_test::layer_check_options o;
    o.prepare = [](std::vector<double>& x) {
        std::vector<std::size_t> order(x.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](auto a, auto b) { return x[a] < x[b]; });
        for (std::size_t r = 0; r < order.size(); ++r)
            x[order[r]] += 0.05 * double(r);
    };
    return o;
}

/// Forward and backward of one layer in double; dy = 1 everywhere unless given.
template <class S, class Node>
struct layer_run {
    using L = typename Node::template layer<S, double>;
    using Out = typename L::output;
    L layer;
    std::size_t batch;
    std::vector<double> params, grads, y, dx, dy, scratch;

    layer_run(const Node& node, std::size_t b)
        : layer(node), batch(b), params(layer.parameter_count()), grads(params.size()),
          y(Out::size * b), dx(S::size * b), dy(Out::size * b, 1.0),
          scratch(layer.scratch_size(b)) {
        std::mt19937_64 rng(1);
        init_context ctx{rng};
        layer.initialize(std::span<double>(params), ctx);
    }
    layer_io<S, Out, double> io(const std::vector<double>& x) {
        layer_io<S, Out, double> io;
        io.x = {x.data(), batch};
        io.y = {y.data(), batch};
        io.dy = {dy.data(), batch};
        io.dx = {dx.data(), batch};
        io.params = params;
        io.grads = grads;
        io.scratch = scratch;
        return io;
    }
    const std::vector<double>& forward(const std::vector<double>& x) {
        layer.forward(io(x));
        return y;
    }
    const std::vector<double>& backward(const std::vector<double>& x) {
        layer.backward(io(x));
        return dx;
    }
};

/// Σ e^{ηv} v / Σ e^{ηv} over each K×K window, indexed by hand in [C][N][H][W].
template <std::size_t K>
std::vector<double> softmax_pool(const std::vector<double>& x, std::size_t C, std::size_t B,
                                 std::size_t H, std::size_t W, double eta) {
    std::vector<double> y(C * B * (H / K) * (W / K));
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < B; ++n)
            for (std::size_t i = 0; i < H / K; ++i)
                for (std::size_t j = 0; j < W / K; ++j) {
                    double num = 0, den = 0;
                    for (std::size_t a = 0; a < K; ++a)
                        for (std::size_t b = 0; b < K; ++b) {
                            const double v = x[((c * B + n) * H + i * K + a) * W + j * K + b];
                            num += std::exp(eta * v) * v;
                            den += std::exp(eta * v);
                        }
                    y[((c * B + n) * (H / K) + i) * (W / K) + j] = num / den;
                }
    return y;
}

} // namespace

BOOST_AUTO_TEST_CASE(gradients_for_every_beta_kind) {
    using S = shape<2, 4, 6>;
    maso_test::expect_layer_gradients<S>(softpool<2>(0.9f));
    maso_test::expect_layer_gradients<S>(softpool<2>(0.5f));
    maso_test::expect_layer_gradients<S>(softpool<2>(learnable(0.3f)));
    maso_test::expect_layer_gradients<S>(softpool<2>(learnable_per_channel(0.6f)), {.batch = 3});
    maso_test::expect_layer_gradients<S>(softpool<2>(0.f)); // β = 0: average
    maso_test::expect_layer_gradients<shape<3, 3, 3>>(softpool<3>(learnable(0.8f)));
    maso_test::expect_layer_gradients<shape<2, 2, 2>>(softpool<1>(learnable(0.4f))); // R = 1
    maso_test::expect_layer_gradients<S>(softpool<2>(1.f), away_from_ties());        // β = 1: hard
}

BOOST_AUTO_TEST_CASE(beta_half_is_softmax_pooling) { // Prop. 4
    using S = shape<3, 4, 4>;
    const auto x = maso_test::uniform_vector<double>(S::size * 2, -3, 3);
    layer_run<S, softpool_node<2>> soft(softpool<2>(0.5f), 2);
    const auto expected = softmax_pool<2>(x, 3, 2, 4, 4, 1.0);
    const auto& y = soft.forward(x);
    for (std::size_t i = 0; i < y.size(); ++i)
        MASO_CHECK_CLOSE(y[i], expected[i], 1e-14, 3);
    // and β = 0.9 is η = 9
    layer_run<S, softpool_node<2>> sharp(softpool<2>(learnable(0.9f)), 2);
    const auto expected9 = softmax_pool<2>(x, 3, 2, 4, 4, 0.9 / (1 - 0.9));
    const auto& y9 = sharp.forward(x);
    // β = 0.9f is not 0.9: η differs by ~1e-7 relative
    for (std::size_t i = 0; i < y9.size(); ++i)
        MASO_CHECK_CLOSE(y9[i], expected9[i], 1e-6, 3);
}

BOOST_AUTO_TEST_CASE(beta_zero_is_avgpool) {
    using S = shape<2, 6, 4>;
    const auto x = maso_test::uniform_vector<double>(S::size * 3, -3, 3);
    layer_run<S, softpool_node<2>> soft(softpool<2>(0.f), 3);
    layer_run<S, avgpool_node<2>> avg(avgpool<2>(), 3);
    const auto y = soft.forward(x);
    const auto expected = avg.forward(x);
    for (std::size_t i = 0; i < y.size(); ++i)
        MASO_CHECK_CLOSE(y[i], expected[i], 1e-15, 3);
    const auto dx = soft.backward(x);
    const auto dx_expected = avg.backward(x);
    for (std::size_t i = 0; i < dx.size(); ++i)
        MASO_CHECK_CLOSE(dx[i], dx_expected[i], 1e-15, 1);
}

BOOST_AUTO_TEST_CASE(beta_one_is_maxpool_with_its_tie_rule) {
    using S = shape<2, 4, 4>;
    auto x = maso_test::uniform_vector<double>(S::size * 2, -3, 3);
    for (std::size_t i = 0; i < x.size(); i += 3)
        x[i] = 1.0; // plenty of ties
    layer_run<S, softpool_node<2>> soft(softpool<2>(1.f), 2);
    layer_run<S, maxpool_node<2>> hard(maxpool<2>(), 2);
    BOOST_CHECK(soft.forward(x) == hard.forward(x));
    BOOST_CHECK(soft.backward(x) == hard.backward(x));
    BOOST_CHECK_EQUAL(soft.layer.parameter_count(), 0u);
}

BOOST_AUTO_TEST_CASE(eta_infinite_and_large_inputs_are_safe) {
    using S = shape<1, 2, 2>;
    // θ = 1000: η = e^θ overflows to ∞ in double; the limit is the max (ties averaged).
    layer_run<S, softpool_node<2>> limit(softpool<2>(learnable(0.5f)), 1);
    limit.params[0] = 1000;
    const std::vector<double> x{1, 3, 3, -2};
    BOOST_CHECK_EQUAL(limit.forward(x)[0], 3.0);
    const auto dx = limit.backward(x);
    BOOST_CHECK_EQUAL(dx[0], 0.0);
    BOOST_CHECK_EQUAL(dx[1], 0.5);
    BOOST_CHECK_EQUAL(dx[2], 0.5);
    BOOST_CHECK_EQUAL(dx[3], 0.0);
    BOOST_CHECK_EQUAL(limit.grads[0], 0.0);
    // e^{η v} would overflow without the max subtracted
    layer_run<S, softpool_node<2>> soft(softpool<2>(0.5f), 1);
    const std::vector<double> big{1000, 999, 998, 997};
    const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), e3 = std::exp(-3.0);
    const double expected = (1000 + 999 * e1 + 998 * e2 + 997 * e3) / (1 + e1 + e2 + e3);
    MASO_CHECK_CLOSE(soft.forward(big)[0], expected, 1e-15, 0);
    for (double d : soft.backward(big))
        BOOST_CHECK(std::isfinite(d));
}

BOOST_AUTO_TEST_CASE(learnable_beta_is_theta_per_layer_or_per_channel) {
    using S = shape<3, 2, 2>;
    layer_run<S, softpool_node<2>> per_layer(softpool<2>(learnable(0.25f)), 1);
    BOOST_REQUIRE_EQUAL(per_layer.params.size(), 1u);
    MASO_CHECK_CLOSE(per_layer.params[0], std::log(0.25 / 0.75), 1e-7, 0); // θ = logit(β)
    layer_run<S, softpool_node<2>> per_channel(softpool<2>(learnable_per_channel(0.5f)), 1);
    BOOST_REQUIRE_EQUAL(per_channel.params.size(), 3u);
    // channel c pools with its own η = e^{θ_c}
    per_channel.params = {std::log(0.5), 0.0, std::log(4.0)};
    const auto x = maso_test::uniform_vector<double>(S::size, -2, 2);
    const auto& y = per_channel.forward(x);
    const double etas[] = {0.5, 1.0, 4.0};
    for (std::size_t c = 0; c < 3; ++c) {
        const std::vector<double> plane(x.begin() + 4 * c, x.begin() + 4 * c + 4);
        MASO_CHECK_CLOSE(y[c], softmax_pool<2>(plane, 1, 1, 2, 2, etas[c])[0], 1e-14, 3);
    }
    const layer_run<S, softpool_node<2>> fixed(softpool<2>(0.3f), 1);
    BOOST_CHECK_EQUAL(fixed.params.size(), 0u);
}

BOOST_AUTO_TEST_CASE(metadata_names_and_errors) {
    static_assert(softpool_node<2>::kind == node_kind::window);
    static_assert(softpool_node<2>::fusable);
    static_assert(softpool_node<2>::check<shape<3, 4, 4>>() == diag::ok);
    static_assert(softpool_node<2>::check<shape<3, 4, 3>>() == diag::pool_not_dividing);
    static_assert(softpool_node<0>::check<shape<3, 4, 4>>() == diag::zero_extent);
    static_assert(std::is_same_v<softpool_node<3>::output_shape<shape<2, 9, 3>>, shape<2, 3, 1>>);
    BOOST_CHECK_EQUAL(softpool_node<2>::name(softpool<2>(learnable(0.5f))),
                      "softpool<2>(β = 0.5, learnable)");
    BOOST_CHECK_EQUAL(softpool_node<3>::name(softpool<3>(0.9f)), "softpool<3>(β = 0.9)");
    BOOST_CHECK_EQUAL(softpool_node<2>::name(softpool<2>(learnable_per_channel(0.25f))),
                      "softpool<2>(β = 0.25, learnable per channel)");
    BOOST_CHECK_THROW(softpool<2>(1.5f), value_error);
    BOOST_CHECK_THROW(softpool<2>(-0.1f), value_error);
    BOOST_CHECK_THROW(softpool<2>(learnable(1.f)), value_error);
    const auto net = input<3, 8, 8>() >> softpool<2>(0.9f) >> softpool<2>(learnable(0.5f));
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<3, 2, 2>>);
}

BOOST_AUTO_TEST_CASE(theta_gradient_without_dx) {
    // The layer's input may need no gradient (io.dx.data null): dθ is still accumulated.
    using S = shape<2, 4, 4>;
    const auto x = maso_test::uniform_vector<double>(S::size * 2, -2, 2);
    layer_run<S, softpool_node<2>> with(softpool<2>(learnable_per_channel(0.6f)), 2);
    layer_run<S, softpool_node<2>> without(softpool<2>(learnable_per_channel(0.6f)), 2);
    with.forward(x);
    with.backward(x);
    auto io = without.io(x);
    io.dx = {nullptr, 2};
    without.layer.forward(io);
    without.layer.backward(io);
    for (std::size_t c = 0; c < 2; ++c) {
        BOOST_CHECK(with.grads[c] != 0.0);
        MASO_CHECK_CLOSE(without.grads[c], with.grads[c], 1e-14, 0);
    }
}

BOOST_AUTO_TEST_CASE(float_agrees_with_double) {
    using S = shape<2, 4, 4>;
    using LF = softpool_node<2>::layer<S, float>;
    const auto xd = maso_test::uniform_vector<double>(S::size, -3, 3);
    const std::vector<float> xf(xd.begin(), xd.end());
    std::vector<float> params(1), grads(1), y(LF::output::size), dy(y.size(), 1.f), dx(xf.size()),
        scratch(S::channels);
    const LF layer(softpool<2>(learnable(0.7f)));
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(std::span<float>(params), ctx);
    layer_io<S, LF::output, float> io;
    io.x = {xf.data(), 1};
    io.y = {y.data(), 1};
    io.dy = {dy.data(), 1};
    io.dx = {dx.data(), 1};
    io.params = params;
    io.grads = grads;
    io.scratch = scratch;
    layer.forward(io);
    layer.backward(io);
    layer_run<S, softpool_node<2>> ref(softpool<2>(learnable(0.7f)), 1);
    std::vector<double> xr(xf.begin(), xf.end()); // the float inputs, exactly
    ref.forward(xr);
    ref.backward(xr);
    for (std::size_t i = 0; i < y.size(); ++i)
        MASO_CHECK_CLOSE(y[i], ref.y[i], 1e-5, 3);
    for (std::size_t i = 0; i < dx.size(); ++i)
        MASO_CHECK_CLOSE(dx[i], ref.dx[i], 1e-5, 1);
    MASO_CHECK_CLOSE(grads[0], ref.grads[0], 1e-4, 1);
}
