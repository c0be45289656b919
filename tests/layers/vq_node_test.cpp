// Tests of include/maso/layers/vq_node.hpp: beta_vq, soft_vq, hard_vq as layers.
#include <maso/layers/vq_node.hpp>

#include <maso_test/expect_layer.hpp>

using namespace maso;

BOOST_AUTO_TEST_CASE(gradients_for_every_beta_kind) {
    using S = shape<3, 2, 3>;
    maso_test::expect_layer_gradients<S>(beta_vq<relu>(0.9f));
    maso_test::expect_layer_gradients<S>(beta_vq<relu>(learnable(0.3f)));
    maso_test::expect_layer_gradients<S>(beta_vq<absolute>(learnable_per_channel(0.6f)));
    maso_test::expect_layer_gradients<S>(beta_vq<leaky_relu>(learnable(0.7f), leaky_relu{0.2}));
    maso_test::expect_layer_gradients<S>(soft_vq<relu>());
    maso_test::expect_layer_gradients<S>(beta_vq<relu>(0.f), {.batch = 5}); // β = 0: z/2
    // hard: keep every input away from the kink at 0
    maso_test::layer_check_options away;
    away.prepare = [](std::vector<double>& x) {
        for (auto& v : x)
            v += v >= 0 ? 0.1 : -0.1;
    };
    maso_test::expect_layer_gradients<S>(hard_vq<relu>(), away);
    maso_test::expect_layer_gradients<S>(hard_vq<absolute>(), away);
    maso_test::expect_layer_gradients<S>(beta_vq<relu>(1.f), away); // β = 1 at run time
}

BOOST_AUTO_TEST_CASE(values_are_the_units) {
    using S = shape<2, 1, 3>;
    using L = vq_node<relu, false>::layer<S, double>;
    const L layer{beta_vq<relu>(0.5f)};
    const std::vector<double> x{-2, -1, 0, 1, 2, 3};
    std::vector<double> y(6);
    layer_io<S, S, double> io;
    io.x = {x.data(), 1};
    io.y = {y.data(), 1};
    layer.forward(io);
    for (std::size_t i = 0; i < 6; ++i)
        MASO_CHECK_CLOSE(y[i], x[i] / (1 + std::exp(-x[i])), 1e-14, 1e-14);
}

BOOST_AUTO_TEST_CASE(bad_beta_is_refused) {
    BOOST_CHECK_THROW(beta_vq<relu>(1.5f), value_error);
    BOOST_CHECK_THROW(beta_vq<relu>(learnable(1.f)), value_error);
    BOOST_CHECK_THROW(beta_vq<relu>(-0.1f), value_error);
}
