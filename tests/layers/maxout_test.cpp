// Tests of include/maso/layers/maxout.hpp: hard and β-VQ channel pooling.
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxout.hpp>

#include <maso_test/expect_layer.hpp>

#include <algorithm>
#include <numeric>

using namespace maso;

namespace {

/// Keeps the order of the values and pulls them ≥ 0.05 apart, so that no channel group is
/// within a finite-difference step of a tie.
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

template <class S, std::size_t K>
struct layer_run {
    using L = typename maxout_node<K>::template layer<S, double>;
    using Out = typename L::output;
    L layer;
    std::size_t batch;
    std::vector<double> params, grads, y, dx, dy, scratch;

    layer_run(const maxout_node<K>& node, std::size_t b, std::vector<double> upstream)
        : layer(node), batch(b), params(layer.parameter_count()), grads(params.size()),
          y(Out::size * b), dx(S::size * b, -7.0), dy(std::move(upstream)),
          scratch(layer.scratch_size(b)) {
        std::mt19937_64 rng(1);
        init_context ctx{rng};
        layer.initialize(std::span<double>(params), ctx);
    }
    void forward_backward(const std::vector<double>& x) {
        layer_io<S, Out, double> io;
        io.x = {x.data(), batch};
        io.y = {y.data(), batch};
        io.dy = {dy.data(), batch};
        io.dx = {dx.data(), batch};
        io.params = params;
        io.grads = grads;
        io.scratch = scratch;
        layer.forward(io);
        layer.backward(io);
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(gradients) {
    using S = shape<6, 2, 3>;
    maso_test::expect_layer_gradients<S>(maxout<2>(), away_from_ties());
    maso_test::expect_layer_gradients<S>(maxout<3>(), away_from_ties());
    maso_test::expect_layer_gradients<shape<4>>(maxout<4>(), away_from_ties());
    maso_test::expect_layer_gradients<S>(maxout<2>(0.7f));
    maso_test::expect_layer_gradients<S>(maxout<3>(learnable(0.5f)));
    maso_test::expect_layer_gradients<S>(maxout<2>(learnable_per_channel(0.3f)), {.batch = 3});
    maso_test::expect_layer_gradients<S>(maxout<2>(0.f));
    maso_test::expect_layer_gradients<S>(maxout<1>(learnable(0.6f)));
}

BOOST_AUTO_TEST_CASE(hard_is_the_channel_max_and_its_winner_gets_the_gradient) {
    constexpr std::size_t C = 6, K = 3, B = 2, P = 4;
    using S = shape<C, 2, 2>;
    auto x = maso_test::uniform_vector<double>(S::size * B, -3, 3);
    x[0] = x[B * P] = 2.5; // channels 0 and 1 tie at image 0, pixel 0: channel 0 wins
    const auto dy = maso_test::uniform_vector<double>(S::size * B / K, -1, 1);
    layer_run<S, K> hard(maxout<K>(), B, dy);
    hard.forward_backward(x);
    // channel-major [C][N][H][W], indexed by hand
    for (std::size_t g = 0; g < C / K; ++g)
        for (std::size_t i = 0; i < B * P; ++i) {
            std::size_t best = 0;
            for (std::size_t j = 1; j < K; ++j)
                if (x[(g * K + j) * B * P + i] > x[(g * K + best) * B * P + i]) best = j;
            BOOST_CHECK_EQUAL(hard.y[g * B * P + i], x[(g * K + best) * B * P + i]);
            for (std::size_t j = 0; j < K; ++j)
                BOOST_CHECK_EQUAL(hard.dx[(g * K + j) * B * P + i],
                                  j == best ? dy[g * B * P + i] : 0.0);
        }
    BOOST_CHECK_EQUAL(hard.dx[0], dy[0]);
    BOOST_CHECK_EQUAL(hard.dx[B * P], 0.0);
}

BOOST_AUTO_TEST_CASE(beta_family_over_channels) {
    constexpr std::size_t C = 4, K = 2, B = 3, P = 6;
    using S = shape<C, 2, 3>;
    const auto x = maso_test::uniform_vector<double>(S::size * B, -3, 3);
    const std::vector<double> dy(S::size * B / K, 1.0);
    layer_run<S, K> half(maxout<K>(0.5f), B, dy), zero(maxout<K>(0.f), B, dy), one(maxout<K>(1.f), B, dy);
    half.forward_backward(x);
    zero.forward_backward(x);
    one.forward_backward(x);
    for (std::size_t g = 0; g < C / K; ++g)
        for (std::size_t i = 0; i < B * P; ++i) {
            const double a = x[(g * K) * B * P + i], b = x[(g * K + 1) * B * P + i];
            const std::size_t o = g * B * P + i;
            MASO_CHECK_CLOSE(half.y[o],
                             (a * std::exp(a) + b * std::exp(b)) / (std::exp(a) + std::exp(b)),
                             1e-14, 3);
            MASO_CHECK_CLOSE(zero.y[o], (a + b) / 2, 1e-15, 3);
            BOOST_CHECK_EQUAL(one.y[o], std::max(a, b));
        }
    BOOST_CHECK_EQUAL(one.params.size(), 0u);
}

BOOST_AUTO_TEST_CASE(metadata_names_and_errors) {
    static_assert(maxout_node<2>::kind == node_kind::window);
    static_assert(!maxout_node<2>::fusable);       // not a plane window …
    static_assert(maxout_node<2>::channel_window); // … but a contraction's channel window
    static_assert(maxout_node<2>::check<shape<6, 3, 3>>() == diag::ok);
    static_assert(maxout_node<4>::check<shape<6, 3, 3>>() == diag::maxout_not_dividing);
    static_assert(maxout_node<0>::check<shape<6, 3, 3>>() == diag::zero_extent);
    static_assert(std::is_same_v<maxout_node<3>::output_shape<shape<6, 3, 5>>, shape<2, 3, 5>>);
    BOOST_CHECK_EQUAL(maxout_node<2>::name(maxout<2>()), "maxout<2>");
    BOOST_CHECK_EQUAL(maxout_node<2>::name(maxout<2>(learnable(0.5f))),
                      "maxout<2>(β = 0.5, learnable)");
    BOOST_CHECK_EQUAL(maxout_node<3>::name(maxout<3>(0.75f)), "maxout<3>(β = 0.75)");
    BOOST_CHECK_EQUAL(
        (maxout_node<2>::layer<shape<8>, float>(maxout<2>(learnable_per_channel(0.5f)))
             .parameter_count()),
        4u); // one θ per output channel
    BOOST_CHECK_THROW(maxout<2>(1.5f), value_error);
    BOOST_CHECK_THROW(maxout<2>(learnable(1.f)), value_error);
    const auto net = input<12, 4, 4>() >> maxout<3>() >> maxout<2>(0.5f);
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<2, 4, 4>>);
}

BOOST_AUTO_TEST_CASE(theta_gradient_without_dx) {
    // The layer's input may need no gradient (io.dx.data null): dθ is still accumulated.
    using S = shape<4, 2, 2>;
    const auto x = maso_test::uniform_vector<double>(S::size * 2, -2, 2);
    const std::vector<double> dy(S::size, 1.0);
    layer_run<S, 2> with(maxout<2>(learnable_per_channel(0.4f)), 2, dy);
    with.forward_backward(x);
    layer_run<S, 2> without(maxout<2>(learnable_per_channel(0.4f)), 2, dy);
    using L = maxout_node<2>::layer<S, double>;
    layer_io<S, L::output, double> io;
    io.x = {x.data(), 2};
    io.y = {without.y.data(), 2};
    io.dy = {dy.data(), 2};
    io.params = without.params;
    io.grads = without.grads;
    io.scratch = without.scratch;
    without.layer.forward(io);
    without.layer.backward(io);
    for (std::size_t g = 0; g < 2; ++g) {
        BOOST_CHECK(with.grads[g] != 0.0);
        MASO_CHECK_CLOSE(without.grads[g], with.grads[g], 1e-14, 0);
    }
}

BOOST_AUTO_TEST_CASE(lanes_compute_the_layers_window) {
    // lanes(io, g), which the fused group's tiles and passes reduce with, is output
    // channel g's window: its β (here one per output channel), as forward computes it.
    using S = shape<6, 2, 2>;
    const auto x = maso_test::uniform_vector<double>(S::size * 2, -2, 2);
    layer_run<S, 3> r(maxout<3>(learnable_per_channel(0.4f)), 2, std::vector<double>(S::size / 3 * 2));
    r.params = {0.3, -1.2};
    r.forward_backward(x);
    using L = maxout_node<3>::layer<S, double>;
    layer_io<S, L::output, double> io;
    io.params = r.params;
    for (std::size_t g = 0; g < 2; ++g) {
        const auto lanes = r.layer.lanes(io, g);
        for (std::size_t i = 0; i < 2 * S::plane; ++i) {
            std::array<double, 3> v;
            for (std::size_t j = 0; j < 3; ++j)
                v[j] = x[(g * 3 + j) * 2 * S::plane + i]; // input channel gK + j, site i
            MASO_CHECK_CLOSE(lanes.forward<3>(v), r.y[g * 2 * S::plane + i], 1e-14, 0);
        }
    }
}
