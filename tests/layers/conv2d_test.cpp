// Tests of include/maso/layers/conv2d.hpp.
#include <maso/expr/chain.hpp>
#include <maso/layers/conv2d.hpp>
#include <maso/layers/input.hpp>

#include <maso_test/expect_edge.hpp>
#include <maso_test/expect_layer.hpp>

#include <algorithm>
#include <type_traits>

using namespace maso;

BOOST_AUTO_TEST_CASE(gradients) {
    using maso_test::expect_layer_gradients;
    // 3×3 same: every border case of the padding, stride 1 and 2, odd and even maps.
    expect_layer_gradients<shape<2, 5, 4>>(conv2d<3, 3>());
    expect_layer_gradients<shape<2, 5, 4>>(conv2d<3, 3, 2>(), {.batch = 1});
    expect_layer_gradients<shape<3, 4, 4>>(conv2d<2, 3, 2, padding::same, false>());
    // valid
    expect_layer_gradients<shape<2, 5, 4>>(conv2d<3, 3, 1, padding::valid>(), {.batch = 1});
    expect_layer_gradients<shape<1, 6, 5>>(conv2d<2, 3, 2, padding::valid, false>());
    // 1×1: the stride-1 path reads x as cols; stride 2 goes through im2col.
    expect_layer_gradients<shape<3, 2, 3>>(conv2d<4, 1>());
    expect_layer_gradients<shape<3, 2, 3>>(conv2d<2, 1, 1, padding::valid, false>(), {.batch = 1});
    expect_layer_gradients<shape<2, 5, 4>>(conv2d<3, 1, 2>());
    // a kernel larger than the map under same padding, and a vector input
    expect_layer_gradients<shape<1, 2, 3>>(conv2d<2, 5>());
    expect_layer_gradients<shape<4>>(conv2d<3, 1>());
    // dW over 512 columns, two KC blocks: its product is cut along the batch in two
    // (kernels/gemm_depth.hpp), at stride 1 and 2.
    expect_layer_gradients<shape<1, 16, 16>>(conv2d<3, 3>());
    expect_layer_gradients<shape<1, 32, 16>>(conv2d<2, 3, 2>(), {.batch = 4});
}

namespace {

/// z by the definition: nested loops over every tap, padding read as zero.
template <class In, std::size_t Cout, std::size_t K, std::size_t S, padding Pad, bool Bias>
std::vector<double> direct(const std::vector<double>& x, const std::vector<double>& p,
                           std::size_t batch) {
    using Out = typename conv2d_node<Cout, K, S, Pad, Bias>::template output_shape<In>;
    constexpr std::size_t C = In::channels, H = In::height, W = In::width;
    constexpr long P = Pad == padding::same ? long(K / 2) : 0;
    std::vector<double> y(Out::size * batch);
    for (std::size_t o = 0; o < Cout; ++o)
        for (std::size_t n = 0; n < batch; ++n)
            for (std::size_t oy = 0; oy < Out::height; ++oy)
                for (std::size_t ox = 0; ox < Out::width; ++ox) {
                    double z = Bias ? p[Cout * C * K * K + o] : 0.0;
                    for (std::size_t c = 0; c < C; ++c)
                        for (std::size_t ky = 0; ky < K; ++ky)
                            for (std::size_t kx = 0; kx < K; ++kx) {
                                const long iy = long(oy * S + ky) - P, ix = long(ox * S + kx) - P;
                                if (iy < 0 || ix < 0 || iy >= long(H) || ix >= long(W)) continue;
                                z += p[o * C * K * K + (c * K + ky) * K + kx] *
                                     x[((c * batch + n) * H + std::size_t(iy)) * W +
                                       std::size_t(ix)];
                            }
                    y[((o * batch + n) * Out::height + oy) * Out::width + ox] = z;
                }
    return y;
}

template <class In, std::size_t Cout, std::size_t K, std::size_t S = 1, padding Pad = padding::same,
          bool Bias = true>
void expect_direct(std::size_t batch) {
    using node = conv2d_node<Cout, K, S, Pad, Bias>;
    using L = typename node::template layer<In, double>;
    using Out = typename L::output;
    const L layer{node{}};
    const auto p = maso_test::uniform_vector<double>(layer.parameter_count(), -1, 1);
    const auto x = maso_test::uniform_vector<double>(In::size * batch, -1, 1);
    std::vector<double> y(Out::size * batch, 1e300), scratch(layer.scratch_size(batch));
    layer_io<In, Out, double> io;
    io.x = {x.data(), batch};
    io.y = {y.data(), batch};
    io.params = p;
    io.scratch = scratch;
    layer.forward(io);
    const auto ref = direct<In, Cout, K, S, Pad, Bias>(x, p, batch);
    BOOST_TEST_CONTEXT(node::name(node{}) << " on " << In::channels << "×" << In::height << "×"
                                          << In::width << ", batch " << batch)
    for (std::size_t i = 0; i < y.size(); ++i)
        MASO_CHECK_CLOSE(y[i], ref[i], 1e-13, 1.0);
}

} // namespace

BOOST_AUTO_TEST_CASE(forward_is_the_direct_convolution) {
    expect_direct<shape<3, 5, 4>, 2, 3>(2);
    expect_direct<shape<2, 8, 8>, 3, 3, 2>(2); // stride 2 same on an even map: 8 → 4
    expect_direct<shape<2, 7, 6>, 3, 3, 2>(1); // ... and on odd and even
    expect_direct<shape<2, 7, 5>, 4, 3, 2, padding::valid>(2);
    expect_direct<shape<3, 6, 6>, 2, 3, 1, padding::valid, false>(3);
    expect_direct<shape<3, 4, 5>, 5, 1>(2);
    expect_direct<shape<3, 5, 5>, 2, 1, 2, padding::same, false>(2);
    expect_direct<shape<2, 9, 7>, 3, 5, 3>(2);
    expect_direct<shape<2, 9, 7>, 3, 5, 2, padding::valid>(2);
    expect_direct<shape<1, 3, 2>, 2, 7>(2); // the kernel covers the map from every position
}

BOOST_AUTO_TEST_CASE(reads_the_network_input_padded) {
    // A padding convolution asks for the input stored padded (expr/node.hpp).
    static_assert(conv2d_node<3, 3>::input_edge == edge_layout::padded);
    static_assert(conv2d_node<3, 5, 2>::input_padding == 2);
    static_assert(conv2d_node<3, 3, 1, padding::valid>::input_edge == edge_layout::channel_major);
    static_assert(conv2d_node<3, 1>::input_edge == edge_layout::channel_major);
    using maso_test::expect_edge_matches;
    expect_edge_matches<shape<3, 7, 9>>(conv2d<5, 3>(), 3);    // dx as a convolution
    expect_edge_matches<shape<2, 8, 6>>(conv2d<4, 3, 2>(), 2); // dx scattered
    expect_edge_matches<shape<2, 5, 7>>(conv2d<3, 5, 1, padding::same, false>(), 2);
    expect_edge_matches<shape<4, 12, 12>>(conv2d<8, 3>(), 5); // columns past one block
}

BOOST_AUTO_TEST_CASE(float_matches_double) {
    using In = shape<3, 6, 5>;
    using node = conv2d_node<4, 3, 2>;
    using Out = node::output_shape<In>;
    const std::size_t batch = 2;
    const auto pd = maso_test::uniform_vector<double>(4 * 27 + 4, -1, 1);
    const auto xd = maso_test::uniform_vector<double>(In::size * batch, -1, 1);
    const std::vector<float> pf(pd.begin(), pd.end()), xf(xd.begin(), xd.end());
    std::vector<float> y(Out::size * batch),
        scratch(node::layer<In, float>{node{}}.scratch_size(batch));
    layer_io<In, Out, float> io;
    io.x = {xf.data(), batch};
    io.y = {y.data(), batch};
    io.params = pf;
    io.scratch = scratch;
    node::layer<In, float>{node{}}.forward(io);
    const auto ref =
        direct<In, 4, 3, 2, padding::same, true>(std::vector<double>(xf.begin(), xf.end()),
                                                 std::vector<double>(pf.begin(), pf.end()), batch);
    for (std::size_t i = 0; i < y.size(); ++i)
        MASO_CHECK_CLOSE(y[i], ref[i], 1e-5, 1.0);
}

BOOST_AUTO_TEST_CASE(parameters_and_initialization) {
    using L = conv2d_node<5, 3>::layer<shape<2, 4, 4>, double>;
    const L layer{conv2d<5, 3>()};
    BOOST_TEST(layer.parameter_count() == 5u * 18 + 5);
    BOOST_TEST(layer.state_size(3) == 0u);
    // Implicit GEMM: cols is never stored, only x padded by 1 (2 channels × 3 images ×
    // 6×6) followed by dW's partial sums (the 5 × 18 product's, kernels/gemm_depth.hpp)
    // and, for backward at stride 1, dz padded by K − 1 − P = 1 (5 filters × 3 images ×
    // 6×6) followed by the flipped filters (2 × 5 × 9): the larger of the two.
    const std::size_t partials = kernels::depth_split<L::arch, double>::partials(5, 18);
    BOOST_TEST(partials % (5 * 18) == 0u);
    BOOST_TEST(layer.scratch_size(3) ==
               std::max<std::size_t>(2u * 3 * 6 * 6 + partials, 5u * 3 * 6 * 6 + 2 * 5 * 9));
    // At stride 2 only x's copy and the partial sums.
    BOOST_TEST((conv2d_node<5, 3, 2>::layer<shape<2, 4, 4>, double>{{}}.scratch_size(3) ==
                2u * 3 * 6 * 6 + partials));
    BOOST_TEST((conv2d_node<5, 3, 1, padding::same, false>::layer<shape<2, 4, 4>, double>{{}}
                    .parameter_count() == 5u * 18));
    std::vector<double> p(layer.parameter_count(), 7.0);
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(p, ctx);
    // glorot with fan_in = 2·9, fan_out = 5·9
    const double a = std::sqrt(6.0 / (18 + 45));
    for (std::size_t i = 0; i < 90; ++i)
        BOOST_TEST(std::fabs(p[i]) <= a);
    for (std::size_t i = 90; i < 95; ++i)
        BOOST_TEST(p[i] == 0.0);
}

BOOST_AUTO_TEST_CASE(the_bias_op_is_the_bias) {
    using In = shape<2, 3, 3>;
    using L = conv2d_node<3, 3>::layer<In, double>;
    const L layer{conv2d<3, 3>()};
    std::vector<double> p(layer.parameter_count(), 0.0), g(p.size(), 0.0);
    p[3 * 18 + 1] = 2.5;
    layer_io<In, L::output, double> io;
    io.params = p;
    io.grads = g;
    const bias_op<double> op = layer.bias(io, 1);
    BOOST_TEST(op.b == 2.5);
    BOOST_TEST(op.grad == g.data() + 3 * 18 + 1);
    static_assert(L::has_bias &&
                  !conv2d_node<3, 3, 1, padding::same, false>::layer<In, float>::has_bias);
}

BOOST_AUTO_TEST_CASE(output_shapes) {
    static_assert(
        std::is_same_v<conv2d_node<96, 3, 2>::output_shape<shape<3, 32, 32>>, shape<96, 16, 16>>);
    static_assert(
        std::is_same_v<conv2d_node<192, 3, 2>::output_shape<shape<96, 16, 16>>, shape<192, 8, 8>>);
    static_assert(
        std::is_same_v<conv2d_node<192, 3, 1, padding::valid>::output_shape<shape<192, 8, 8>>,
                       shape<192, 6, 6>>);
    static_assert(
        std::is_same_v<conv2d_node<10, 1>::output_shape<shape<192, 6, 6>>, shape<10, 6, 6>>);
    static_assert(std::is_same_v<conv2d_node<4, 3>::output_shape<shape<2, 5, 4>>, shape<4, 5, 4>>);
    static_assert(
        std::is_same_v<conv2d_node<4, 3, 2>::output_shape<shape<2, 5, 4>>, shape<4, 3, 2>>);
    static_assert(std::is_same_v<conv2d_node<4, 5, 2, padding::valid>::output_shape<shape<2, 9, 7>>,
                                 shape<4, 3, 2>>);
    // the paper's largeCNN head, through `>>`
    constexpr auto net = input<3, 32, 32>() >> conv2d<96, 3>() >> conv2d<96, 3, 2>() >>
                         conv2d<192, 3, 2>() >> conv2d<192, 3, 1, padding::valid>() >>
                         conv2d<192, 1>() >> conv2d<10, 1>();
    static_assert(std::is_same_v<decltype(net)::output_shape, shape<10, 6, 6>>);
}

BOOST_AUTO_TEST_CASE(shape_errors_are_codes) {
    using S = shape<3, 4, 4>;
    static_assert(conv2d_node<8, 3>::check<S>() == diag::ok);
    static_assert(conv2d_node<0, 3>::check<S>() == diag::zero_extent);
    static_assert(conv2d_node<8, 0>::check<S>() == diag::zero_extent);
    static_assert(conv2d_node<8, 3, 0>::check<S>() == diag::stride_zero);
    static_assert(conv2d_node<8, 2>::check<S>() == diag::same_needs_odd_kernel);
    static_assert(conv2d_node<8, 2, 1, padding::valid>::check<S>() == diag::ok);
    static_assert(conv2d_node<8, 5, 1, padding::valid>::check<S>() == diag::kernel_too_large);
    static_assert(conv2d_node<8, 4, 1, padding::valid>::check<S>() == diag::ok);
    static_assert(conv2d_node<8, 3, 1, padding::valid>::check<shape<3, 2, 5>>() ==
                  diag::kernel_too_large);
    static_assert(conv2d_node<8, 3, 1, padding::valid>::check<shape<3, 5, 2>>() ==
                  diag::kernel_too_large);
    static_assert(conv2d_node<8, 5>::check<shape<3, 2, 2>>() == diag::ok); // same pads
}

BOOST_AUTO_TEST_CASE(names) {
    BOOST_TEST((conv2d_node<96, 3, 2>::name({})) == "conv2d<96, 3, stride 2, same>");
    BOOST_TEST((conv2d_node<10, 1, 1, padding::valid, false>::name({})) ==
               "conv2d<10, 1, stride 1, valid, no bias>");
}

// Orthogonality constraints on the flattened filters (ortho/constrained_weight.hpp): every
// path's gradient — through V = GS(W), or with λ·∂P/∂W added — by central differences, with
// the hooks run as a model runs them; stride 1 (dx as a convolution with V's flipped filters),
// stride 2 and 1×1 (dx through Vᵀ), without a bias.
BOOST_AUTO_TEST_CASE(orthogonality_gradients) {
    using maso_test::expect_layer_gradients;
    using S = shape<2, 5, 4>; // D = 18
    expect_layer_gradients<S>(conv2d<3, 3, ortho::penalty<>>());
    expect_layer_gradients<S>(
        conv2d<4, 3, ortho::penalty<ortho::penalty_form::orthonormal>, 2>({.lambda = 0.25}));
    expect_layer_gradients<S>(conv2d<3, 3, ortho::gram_schmidt<>>());
    expect_layer_gradients<S>(
        conv2d<5, 3, ortho::gram_schmidt<ortho::gs_form::cgs2>, 2, padding::valid, false>());
    expect_layer_gradients<S>(conv2d<4, 3, ortho::cholesky_qr>(), {.batch = 1});
    expect_layer_gradients<shape<3, 2, 3>>(conv2d<3, 1, ortho::cholesky_qr>()); // D = 3 = K
    // In evaluation a penalty adds nothing: the layer is the plain one.
    expect_layer_gradients<S>(conv2d<3, 3, ortho::penalty<>>(), {.phase = mode::evaluation});
}

BOOST_AUTO_TEST_CASE(orthogonality_checks_and_names) {
    using S = shape<3, 4, 4>; // D = 27
    static_assert(conv2d_node<27, 3, 1, padding::same, true, ortho::gram_schmidt<>>::check<S>() ==
                  diag::ok);
    static_assert(conv2d_node<96, 3, 1, padding::same, true, ortho::penalty<>>::check<S>() ==
                  diag::ok); // a penalty needs no K <= D (E024 is compile_fail/e024_*.cpp)
    static_assert(std::is_same_v<decltype(conv2d<8, 3, ortho::cholesky_qr, 2>()),
                                 conv2d_node<8, 3, 2, padding::same, true, ortho::cholesky_qr>>);
    BOOST_TEST((conv2d_node<96, 3, 1, padding::same, false, ortho::penalty<>>::name({})) ==
               "conv2d<96, 3, stride 1, same, no bias, ortho::penalty<off_diagonal>>");
    BOOST_TEST((conv2d<8, 3, ortho::penalty<>>({.lambda = 0.5}).orthogonality.lambda) == 0.5);
    const std::string path =
        conv2d_node<8, 3, 1, padding::same, true, ortho::gram_schmidt<>>::constraint_path<S>({});
    BOOST_TEST(path.find("on W[8][27]") != std::string::npos);
    const std::string none = conv2d_node<8, 3>::constraint_path<S>({});
    BOOST_TEST(none.empty());
}
