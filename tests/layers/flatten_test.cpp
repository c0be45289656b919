// Tests of include/maso/layers/flatten.hpp.
#include <maso/expr/chain.hpp>
#include <maso/layers/flatten.hpp>
#include <maso/layers/input.hpp>

#include <maso_test/expect_layer.hpp>

#include <algorithm>
#include <type_traits>

using namespace maso;

BOOST_AUTO_TEST_CASE(gradients) {
    maso_test::expect_layer_gradients<shape<3, 2, 4>>(flatten());
    maso_test::expect_layer_gradients<shape<2, 3, 1>>(flatten(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<5>>(flatten(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<2, 2, 3>>(flatten(), {.batch = 1});
}

BOOST_AUTO_TEST_CASE(each_image_is_flattened_in_nchw_order) {
    using In = shape<3, 2, 4>;
    constexpr std::size_t C = 3, H = 2, W = 4, N = 3;
    using L = flatten_node::layer<In, double>;
    const L layer{flatten()};
    // x[c][n][h][w] = a code that names its position
    std::vector<double> x(In::size * N), y(In::size * N, -1), dx(x.size(), -1);
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t w = 0; w < W; ++w)
                    x[((c * N + n) * H + h) * W + w] = double(1000 * n + 100 * c + 10 * h + w);
    layer_io<In, shape<24>, double> io;
    io.x = {x.data(), N};
    io.y = {y.data(), N};
    io.dy = {y.data(), N};
    io.dx = {dx.data(), N};
    layer.forward(io);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t w = 0; w < W; ++w) {
                    const std::size_t d = (c * H + h) * W + w;
                    BOOST_TEST(y[d * N + n] == double(1000 * n + 100 * c + 10 * h + w));
                }
    layer.backward(io); // the inverse: dx = x exactly
    BOOST_TEST(dx == x, boost::test_tools::per_element());
    io.dx.data = nullptr; // nobody wants dx: backward writes nothing
    std::fill(dx.begin(), dx.end(), -1.0);
    layer.backward(io);
    BOOST_TEST(std::count(dx.begin(), dx.end(), -1.0) == long(dx.size()));
}

BOOST_AUTO_TEST_CASE(shape_and_metadata) {
    static_assert(std::is_same_v<flatten_node::output_shape<shape<3, 2, 4>>, shape<24>>);
    static_assert(flatten_node::kind == node_kind::reshape);
    static_assert(flatten_node::check<shape<3, 2, 4>>() == diag::ok);
    constexpr auto net = input<4, 3, 3>() >> flatten();
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<36>>);
    const flatten_node::layer<shape<3, 2, 4>, float> layer{flatten()};
    BOOST_TEST(layer.parameter_count() == 0u);
    BOOST_TEST(layer.state_size(8) == 0u);
    BOOST_TEST(layer.scratch_size(8) == 0u);
    BOOST_TEST(flatten_node::name(flatten()) == "flatten");
}
