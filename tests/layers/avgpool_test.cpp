// Tests of include/maso/layers/avgpool.hpp.
#include <maso/expr/chain.hpp>
#include <maso/layers/avgpool.hpp>
#include <maso/layers/input.hpp>

#include <maso_test/expect_layer.hpp>

using namespace maso;

BOOST_AUTO_TEST_CASE(gradients) {
    maso_test::expect_layer_gradients<shape<2, 4, 6>>(avgpool<2>());
    maso_test::expect_layer_gradients<shape<3, 3, 3>>(avgpool<3>(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<2, 2, 3>>(avgpool<1>(), {.batch = 1}); // identity
}

BOOST_AUTO_TEST_CASE(forward_is_the_window_mean_and_backward_spreads_evenly) {
    constexpr std::size_t C = 2, H = 6, W = 3, B = 2, K = 3;
    using S = shape<C, H, W>;
    using L = avgpool_node<K>::layer<S, double>;
    const L layer{avgpool<K>()};
    const auto x = maso_test::uniform_vector<double>(S::size * B, -3, 3);
    const auto dy = maso_test::uniform_vector<double>(L::output::size * B, -1, 1);
    std::vector<double> y(L::output::size * B), dx(x.size());
    layer_io<S, L::output, double> io;
    io.x = {x.data(), B};
    io.y = {y.data(), B};
    io.dy = {dy.data(), B};
    io.dx = {dx.data(), B};
    layer.forward(io);
    layer.backward(io);
    // channel-major [C][N][H][W], indexed by hand
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < B; ++n)
            for (std::size_t i = 0; i < H / K; ++i)
                for (std::size_t j = 0; j < W / K; ++j) {
                    const std::size_t o = ((c * B + n) * (H / K) + i) * (W / K) + j;
                    double s = 0;
                    for (std::size_t a = 0; a < K; ++a)
                        for (std::size_t b = 0; b < K; ++b) {
                            const std::size_t at = ((c * B + n) * H + i * K + a) * W + j * K + b;
                            s += x[at];
                            MASO_CHECK_CLOSE(dx[at], dy[o] / 9, 1e-15, 0);
                        }
                    MASO_CHECK_CLOSE(y[o], s / 9, 1e-15, 3);
                }
}

BOOST_AUTO_TEST_CASE(metadata_and_shape_errors) {
    static_assert(avgpool_node<2>::kind == node_kind::window);
    static_assert(avgpool_node<2>::fusable);
    static_assert(avgpool_node<2>::check<shape<1, 2, 8>>() == diag::ok);
    static_assert(avgpool_node<2>::check<shape<1, 3, 8>>() == diag::pool_not_dividing);
    static_assert(avgpool_node<4>::check<shape<1, 4, 2>>() == diag::pool_not_dividing);
    static_assert(avgpool_node<0>::check<shape<1, 4, 4>>() == diag::zero_extent);
    static_assert(std::is_same_v<avgpool_node<4>::output_shape<shape<5, 8, 4>>, shape<5, 2, 1>>);
    BOOST_CHECK_EQUAL(avgpool_node<3>::name(avgpool<3>()), "avgpool<3>");
    using L = avgpool_node<2>::layer<shape<1, 2, 2>, float>;
    BOOST_CHECK_EQUAL(L(avgpool<2>()).parameter_count(), 0u);
    const auto net = input<4, 6, 6>() >> avgpool<3>();
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<4, 2, 2>>);
}
