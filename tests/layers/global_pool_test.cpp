// Tests of include/maso/layers/global_pool.hpp: global_avgpool and global_softpool.
#include <maso/expr/chain.hpp>
#include <maso/layers/global_pool.hpp>
#include <maso/layers/input.hpp>

#include <maso_test/expect_layer.hpp>

#include <algorithm>
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

/// Forward and backward of one layer in double; dy = 1 everywhere.
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

} // namespace

BOOST_AUTO_TEST_CASE(gradients) {
    using S = shape<3, 3, 4>;
    maso_test::expect_layer_gradients<S>(global_avgpool());
    maso_test::expect_layer_gradients<S>(global_softpool(0.9f));
    maso_test::expect_layer_gradients<S>(global_softpool(learnable(0.4f)));
    maso_test::expect_layer_gradients<S>(global_softpool(learnable_per_channel(0.7f)),
                                         {.batch = 3});
    maso_test::expect_layer_gradients<S>(global_softpool(0.f));
    maso_test::expect_layer_gradients<S>(global_softpool(1.f), away_from_ties());
    maso_test::expect_layer_gradients<shape<2>>(global_softpool(learnable(0.5f))); // 1×1 plane
}

BOOST_AUTO_TEST_CASE(values_against_the_plane_formulas) {
    constexpr std::size_t C = 2, B = 3, P = 20;
    using S = shape<C, 4, 5>;
    const auto x = maso_test::uniform_vector<double>(S::size * B, -3, 3);
    layer_run<S, global_avgpool_node> avg(global_avgpool(), B);
    layer_run<S, global_softpool_node> zero(global_softpool(0.f), B);
    layer_run<S, global_softpool_node> half(global_softpool(0.5f), B);
    layer_run<S, global_softpool_node> one(global_softpool(1.f), B);
    const auto y_avg = avg.forward(x);
    const auto y_zero = zero.forward(x);
    const auto y_half = half.forward(x);
    const auto y_one = one.forward(x);
    BOOST_REQUIRE_EQUAL(y_avg.size(), C * B);
    for (std::size_t q = 0; q < C * B; ++q) { // plane q = (c, n) is x[q·P …]
        double sum = 0, num = 0, den = 0, mx = x[q * P];
        for (std::size_t i = 0; i < P; ++i) {
            const double v = x[q * P + i];
            sum += v;
            num += std::exp(v) * v;
            den += std::exp(v);
            mx = std::max(mx, v);
        }
        MASO_CHECK_CLOSE(y_avg[q], sum / P, 1e-14, 3);
        MASO_CHECK_CLOSE(y_zero[q], y_avg[q], 1e-15, 3);  // β = 0 is global average pooling
        MASO_CHECK_CLOSE(y_half[q], num / den, 1e-14, 3); // β = ½ softmax pooling (Prop. 4)
        BOOST_CHECK_EQUAL(y_one[q], mx);                  // β = 1 global max pooling
    }
    const auto dx_avg = avg.backward(x);
    const auto dx_zero = zero.backward(x);
    for (std::size_t i = 0; i < dx_avg.size(); ++i) {
        MASO_CHECK_CLOSE(dx_avg[i], 1.0 / P, 1e-15, 0);
        MASO_CHECK_CLOSE(dx_zero[i], dx_avg[i], 1e-14, 0);
    }
}

BOOST_AUTO_TEST_CASE(hard_ties_go_to_the_first_pixel) {
    using S = shape<1, 2, 2>;
    layer_run<S, global_softpool_node> one(global_softpool(1.f), 1);
    const std::vector<double> x{1, 4, 4, 0};
    BOOST_CHECK_EQUAL(one.forward(x)[0], 4.0);
    const std::vector<double> expected{0, 1, 0, 0};
    const auto& dx = one.backward(x);
    BOOST_CHECK_EQUAL_COLLECTIONS(dx.begin(), dx.end(), expected.begin(), expected.end());
}

BOOST_AUTO_TEST_CASE(metadata_names_and_errors) {
    static_assert(global_avgpool_node::kind == node_kind::window);
    static_assert(global_avgpool_node::fusable && global_softpool_node::fusable);
    static_assert(global_avgpool_node::check<shape<3, 4, 5>>() == diag::ok);
    static_assert(global_softpool_node::check<shape<3, 0, 5>>() == diag::zero_extent);
    static_assert(std::is_same_v<global_avgpool_node::output_shape<shape<3, 4, 5>>, shape<3>>);
    static_assert(std::is_same_v<global_softpool_node::output_shape<shape<7, 2, 2>>, shape<7>>);
    BOOST_CHECK_EQUAL(global_avgpool_node::name(global_avgpool()), "global_avgpool");
    BOOST_CHECK_EQUAL(global_softpool_node::name(global_softpool(learnable_per_channel(0.5f))),
                      "global_softpool(β = 0.5, learnable per channel)");
    BOOST_CHECK_THROW(global_softpool(2.f), value_error);
    BOOST_CHECK_THROW(global_softpool(learnable(1.f)), value_error);
    const auto net = input<16, 8, 8>() >> global_softpool(0.5f);
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<16>>);
    const auto head = global_avgpool() >> global_softpool(0.5f); // a fragment
    const auto net2 = input<3, 4, 4>() >> head;
    static_assert(std::is_same_v<decltype(net2)::output_shape, shape<3>>);
}

BOOST_AUTO_TEST_CASE(theta_gradient_without_dx) {
    // The layer's input may need no gradient (io.dx.data null): dθ is still accumulated.
    using S = shape<2, 3, 3>;
    const auto x = maso_test::uniform_vector<double>(S::size * 2, -2, 2);
    layer_run<S, global_softpool_node> with(global_softpool(learnable(0.6f)), 2);
    layer_run<S, global_softpool_node> without(global_softpool(learnable(0.6f)), 2);
    with.forward(x);
    with.backward(x);
    auto io = without.io(x);
    io.dx = {nullptr, 2};
    without.layer.forward(io);
    without.layer.backward(io);
    BOOST_CHECK(with.grads[0] != 0.0);
    MASO_CHECK_CLOSE(without.grads[0], with.grads[0], 1e-14, 0);
}
