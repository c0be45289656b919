// Tests of include/maso/layers/maxpool.hpp.
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxpool.hpp>

#include <maso_test/expect_layer.hpp>

#include <algorithm>
#include <numeric>

using namespace maso;

namespace {

/// Keeps the order of the values and pulls them ≥ 0.05 apart, so that no window is
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

template <class S, class Node>
std::vector<double> run_forward(const Node& node, const std::vector<double>& x, std::size_t batch) {
    using L = typename Node::template layer<S, double>;
    const L layer(node);
    std::vector<double> y(L::output::size * batch);
    layer_io<S, typename L::output, double> io;
    io.x = {x.data(), batch};
    io.y = {y.data(), batch};
    layer.forward(io);
    return y;
}

} // namespace

BOOST_AUTO_TEST_CASE(gradients) {
    maso_test::expect_layer_gradients<shape<2, 4, 6>>(maxpool<2>(), away_from_ties());
    maso_test::expect_layer_gradients<shape<3, 3, 6>>(maxpool<3>(), away_from_ties());
    auto one = away_from_ties();
    one.batch = 1;
    maso_test::expect_layer_gradients<shape<1, 2, 2>>(maxpool<2>(), one); // one window
    maso_test::expect_layer_gradients<shape<2, 3, 2>>(maxpool<1>(), one); // identity
}

BOOST_AUTO_TEST_CASE(forward_is_the_window_max) {
    constexpr std::size_t C = 3, H = 4, W = 6, B = 2, K = 2;
    using S = shape<C, H, W>;
    const auto x = maso_test::uniform_vector<double>(S::size * B, -3, 3);
    const auto y = run_forward<S>(maxpool<K>(), x, B);
    BOOST_REQUIRE_EQUAL(y.size(), C * B * (H / K) * (W / K));
    // channel-major [C][N][H][W], indexed by hand
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < B; ++n)
            for (std::size_t i = 0; i < H / K; ++i)
                for (std::size_t j = 0; j < W / K; ++j) {
                    double m = -1e300;
                    for (std::size_t a = 0; a < K; ++a)
                        for (std::size_t b = 0; b < K; ++b)
                            m = std::max(m, x[((c * B + n) * H + i * K + a) * W + j * K + b]);
                    BOOST_CHECK_EQUAL(y[((c * B + n) * (H / K) + i) * (W / K) + j], m);
                }
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_first_entry_in_row_major_order) {
    using S = shape<1, 2, 4>;
    using L = maxpool_node<2>::layer<S, double>;
    const L layer{maxpool<2>()};
    // window 0 = [[3, 3], [3, 1]], window 1 = [[1, 5], [5, 2]]
    const std::vector<double> x{3, 3, 1, 5, 3, 1, 5, 2};
    const std::vector<double> dy{10, 20};
    std::vector<double> y(2), dx(8, -7.0);
    layer_io<S, L::output, double> io;
    io.x = {x.data(), 1};
    io.y = {y.data(), 1};
    io.dy = {dy.data(), 1};
    io.dx = {dx.data(), 1};
    layer.forward(io);
    BOOST_CHECK_EQUAL(y[0], 3.0);
    BOOST_CHECK_EQUAL(y[1], 5.0);
    layer.backward(io);
    const std::vector<double> expected{10, 0, 0, 20, 0, 0, 0, 0};
    BOOST_CHECK_EQUAL_COLLECTIONS(dx.begin(), dx.end(), expected.begin(), expected.end());
}

BOOST_AUTO_TEST_CASE(plane_calls_are_the_layer) {
    using S = shape<2, 4, 4>;
    using L = maxpool_node<2>::layer<S, double>;
    const L layer{maxpool<2>()};
    const auto x = maso_test::uniform_vector<double>(S::size * 3, -1, 1);
    const auto y = run_forward<S>(maxpool<2>(), x, 3);
    layer_io<S, L::output, double> io;
    io.x = {x.data(), 3};
    std::vector<double> out(4);
    layer.forward_planes(io, 1, io.x.plane(1, 2), out.data(), 1);
    for (std::size_t i = 0; i < 4; ++i)
        BOOST_CHECK_EQUAL(out[i], y[(1 * 3 + 2) * 4 + i]);
}

BOOST_AUTO_TEST_CASE(metadata_and_shape_errors) {
    static_assert(maxpool_node<2>::kind == node_kind::window);
    static_assert(maxpool_node<2>::fusable);
    static_assert(maxpool_node<2>::check<shape<3, 4, 6>>() == diag::ok);
    static_assert(maxpool_node<2>::check<shape<3, 5, 5>>() == diag::pool_not_dividing);
    static_assert(maxpool_node<2>::check<shape<3, 4, 5>>() == diag::pool_not_dividing);
    static_assert(maxpool_node<3>::check<shape<3, 4, 6>>() == diag::pool_not_dividing);
    static_assert(maxpool_node<0>::check<shape<3, 4, 4>>() == diag::zero_extent);
    static_assert(std::is_same_v<maxpool_node<2>::output_shape<shape<3, 4, 6>>, shape<3, 2, 3>>);
    BOOST_CHECK_EQUAL(maxpool_node<2>::name(maxpool<2>()), "maxpool<2>");
}

BOOST_AUTO_TEST_CASE(in_chains_and_fragments) {
    const auto net = input<3, 8, 8>() >> maxpool<2>() >> maxpool<2>();
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<3, 2, 2>>);
    const auto block = maxpool<2>() >> maxpool<2>(); // a fragment: no shape yet
    const auto net2 = input<1, 4, 4>() >> block;
    static_assert(std::is_same_v<decltype(net2)::output_shape, shape<1, 1, 1>>);
}
