// Tests of include/maso/run/program.hpp, built once per ISA: the program keeps the
// buffers the plan says, and the tile epilogue (bias → units → pooling on the GEMM's
// register tiles: 2×2 on every ISA, 4×4 with AVX2 float and AVX-512) computes what the unfused
// program computes, forward and backward, and keeps z in the order it pooled in.
// Batch-norm, maxout and dense groups: program_groups_test.cpp; threads:
// program_threads_test.cpp (three executables, so that they build in parallel).
#include <maso/maso.hpp>

#include <maso_test/fused_vs_unfused.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <type_traits>
#include <vector>

using namespace maso;
using maso_test::check_network;
using maso_test::pools_in_tiles;

const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> maxpool<2>() >>
                 conv2d<4, 1, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>() >>
                 global_avgpool() >> softmax_cross_entropy();

BOOST_AUTO_TEST_CASE(the_program_keeps_what_the_plan_says) {
    using P = run::program<std::decay_t<decltype(net)>, fuse::all_t, float>;
    // input, conv z, pooled output, conv z, pooled (the batch-norm kernel's output), loss
    static_assert(P::memory_plan::materialized ==
                  std::array<bool, 9>{true, true, false, true, true, false, false, true, true});
    P p(net, 2);
    BOOST_CHECK_EQUAL(p.value<1>().size(), 3u * 16 * 2);
    BOOST_CHECK_EQUAL(p.parameters<1>().size(), 3u * 2 * 9 + 3);
    BOOST_CHECK_EQUAL(p.parameters<5>().size(), 2u * 4); // γ, β of the batch norm
    BOOST_CHECK_THROW(P(net, 0), value_error);
}

namespace {

/// 3×3 pooling never fits the tiles (no NR is a multiple of 9); 4×4 fits where 16 divides
/// NR: AVX2 float (16), AVX-512 float (64) and double (32), not SSE2 or AVX2 double (8, 4)
/// (plan/tiles_test.cpp has the whole table).
static_assert(kernels::gemm_blocking<maso_test::test_arch, float>::NR % 9 != 0);

/// Every epilogue the tiles run after `head` (an input and a convolution): a unit and
/// each pooling, each pooling alone, and units without pooling.
template <class Head>
void check_epilogues(const Head& head) {
    const auto unit = beta_vq<relu>(learnable(0.6f));
    BOOST_TEST_CONTEXT("unit, maxpool") check_network(head >> unit >> maxpool<2>());
    BOOST_TEST_CONTEXT("unit, avgpool") check_network(head >> unit >> avgpool<2>());
    BOOST_TEST_CONTEXT("unit, softpool")
    check_network(head >> unit >> softpool<2>(learnable(0.7f)));
    BOOST_TEST_CONTEXT("unit, softpool per channel")
    check_network(head >> unit >> softpool<2>(learnable_per_channel(0.4f)));
    BOOST_TEST_CONTEXT("maxpool") check_network(head >> maxpool<2>());
    BOOST_TEST_CONTEXT("avgpool") check_network(head >> avgpool<2>());
    BOOST_TEST_CONTEXT("softpool") check_network(head >> softpool<2>(learnable(0.7f)));
    BOOST_TEST_CONTEXT("softpool per channel")
    check_network(head >> softpool<2>(learnable_per_channel(0.4f)));
    BOOST_TEST_CONTEXT("units, no pooling")
    check_network(head >> unit >>
                  beta_vq<leaky_relu>(learnable_per_channel(0.5f), leaky_relu{0.1}));
}

/// Two epilogues, for the heads whose geometry is what differs: the hard window and the
/// learnable soft one (each network costs four model instantiations to compile).
template <class Head>
void check_two_epilogues(const Head& head) {
    const auto unit = beta_vq<relu>(learnable(0.6f));
    BOOST_TEST_CONTEXT("unit, maxpool") check_network(head >> unit >> maxpool<2>());
    BOOST_TEST_CONTEXT("unit, softpool")
    check_network(head >> unit >> softpool<2>(learnable(0.7f)));
}

} // namespace

// Channel counts 5 and 13 leave a partial 6-row tile. At batches 1, 3, 4 the window
// counts per channel are 4, 12, 16 (pooled plane 2×2: same padding), 9, 27, 36 (3×3:
// stride 2, no bias) and 16, 48, 64 (4×4: valid padding) — whole tiles of AVX-512's
// 16 float windows and not (4 with AVX2, 2 with SSE2, where each member is regrouped
// through memory). 4×4 pooling (16 members) fits the tiles where 16 divides NR: with AVX2
// float (one window a tile) and AVX-512 float (four); not with SSE2 float (NR = 8).
BOOST_AUTO_TEST_CASE(tile_epilogue_same_padding) {
    check_two_epilogues(input<2, 4, 4>() >> conv2d<5, 3>());
    check_epilogues(input<2, 4, 4>() >> conv2d<13, 3>());
    BOOST_TEST_CONTEXT("unit, softpool<4>")
    check_network(input<2, 8, 8>() >> conv2d<7, 3>() >> beta_vq<relu>(learnable(0.6f)) >>
                  softpool<4>(learnable(0.7f)));
}

namespace {

/// The float program's output and every parameter gradient, fused against unfused: as
/// expect_float_input_gradient, with a floor of 1e-6 times the largest gradient for the
/// entries that cancel (each sums over every position, in another order in each plan).
template <class Net>
void expect_float_fused_equals_unfused(const Net& n, std::size_t batch) {
    maso::model<Net, fuse::all_t, float> a(n, batch, {.seed = 3});
    maso::model<Net, fuse::none_t, float> b(n, batch, {.seed = 3});
    using In = typename decltype(a)::input_shape;
    using Out = typename decltype(a)::output_shape;
    const auto x = maso_test::uniform_vector<float>(In::size * batch, -1.5, 1.5);
    const auto w = maso_test::uniform_vector<float>(Out::size * batch, -1, 1);
    a.forward(x);
    b.forward(x);
    const auto ya = a.output(), yb = b.output();
    for (std::size_t i = 0; i < yb.size(); ++i)
        BOOST_TEST_CONTEXT("output " << i) MASO_CHECK_CLOSE(ya.data[i], yb.data[i], 1e-5, 1e-6);
    a.backward(w);
    b.backward(w);
    const auto ga = a.gradients(), gb = b.gradients();
    double gmax = 0;
    for (const float v : gb)
        gmax = std::max(gmax, double(std::fabs(v)));
    for (std::size_t i = 0; i < gb.size(); ++i)
        BOOST_TEST_CONTEXT("gradient " << i) MASO_CHECK_CLOSE(ga[i], gb[i], 1e-5, 1e-1 * gmax);
}

} // namespace

// A pooled row of at least 16 windows: with AVX-512 float the product reads each group of
// 16 windows as four rows of x in place (kernels/implicit_conv.hpp's window pairs), in the
// forward product and in dW's. Pooled planes 2×16 (one group a row) and 3×20 (one group
// and a rest that takes the general path), at batches 1 and 2.
BOOST_AUTO_TEST_CASE(tile_window_pairs_in_wide_rows) {
    const auto unit = beta_vq<relu>(learnable(0.6f));
    const auto one_group = input<2, 4, 32>() >> conv2d<5, 3>() >> unit >> maxpool<2>();
    const auto with_rest = input<3, 6, 40>() >> conv2d<7, 3>() >> unit >> softpool<2>(0.7f);
    for (std::size_t b : {1, 2})
        BOOST_TEST_CONTEXT("batch " << b) {
            expect_float_fused_equals_unfused(one_group, b);
            expect_float_fused_equals_unfused(with_rest, b);
            maso_test::expect_float_input_gradient(one_group, b);
        }
    maso_test::expect_gradients(one_group, {.batch = 1});
}

BOOST_AUTO_TEST_CASE(tile_epilogue_stride_2) {
    check_two_epilogues(input<2, 12, 12>() >> conv2d<13, 3, 2>());
}

BOOST_AUTO_TEST_CASE(tile_epilogue_valid_padding) {
    check_two_epilogues(input<1, 10, 10>() >> conv2d<5, 3, 1, padding::valid>());
}

BOOST_AUTO_TEST_CASE(tile_epilogue_without_bias) {
    // The chain is empty: the tiles only pool.
    check_network(input<2, 6, 6>() >> conv2d<5, 3, 1, padding::same, false>() >> maxpool<2>());
}

namespace {

/// The kept z of conv → unit (→ maxpool<2>): with pooling the tile path stores it in
/// window order (kernels/implicit_conv.hpp: member r of window w at column
/// (w / L)·4L + r·L + w % L, L = NR / 4, padded to whole groups with zeros), without
/// pooling in the natural order. Either way z + bias is the convolution's
/// output, which the unfused program keeps.
template <class T, bool Pool, class Net>
void check_kept_z(const Net& n, std::size_t batch) {
    using A = model<Net, fuse::all_t, T>;
    A a(n, batch, {.seed = 3});
    model<Net, fuse::none_t, T> b(n, batch, {.seed = 3});
    using S = plan::output_shape_t<Net, 1>;
    const auto x = maso_test::uniform_vector<T>(A::input_shape::size * batch, -1, 1);
    a.forward(x);
    b.forward(x);
    const T* z = a.program().template value<1>().data;
    const T* y = b.program().template value<1>().data;
    const auto params = b.template parameters<1>();
    const T* bias = params.data() + A::program_type::template layer_t<1>::bias_offset;

    constexpr bool windows = Pool && pools_in_tiles<T>;
    constexpr std::size_t L = kernels::gemm_blocking<maso_test::test_arch, T>::NR / 4;
    const std::size_t hp = S::height / 2, wp = S::width / 2, count = batch * hp * wp;
    const std::size_t cols = windows ? (count + L - 1) / L * 4 * L : batch * S::plane;
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    double ymax = 0;
    for (std::size_t i = 0; i < S::size * batch; ++i)
        ymax = std::max(ymax, double(std::fabs(y[i])));
    for (std::size_t c = 0; c < S::channels; ++c) {
        for (std::size_t nn = 0; nn < batch; ++nn)
            for (std::size_t oy = 0; oy < S::height; ++oy)
                for (std::size_t ox = 0; ox < S::width; ++ox) {
                    const std::size_t p = (nn * S::height + oy) * S::width + ox;
                    std::size_t j = p;
                    if constexpr (windows) {
                        const std::size_t w = (nn * hp + oy / 2) * wp + ox / 2;
                        const std::size_t r = oy % 2 * 2 + ox % 2;
                        j = w / L * 4 * L + r * L + w % L;
                    }
                    BOOST_TEST_CONTEXT("channel " << c << ", pixel " << p << ", column " << j)
                    MASO_CHECK_CLOSE(z[c * cols + j] + bias[c], y[c * batch * S::plane + p], tol,
                                     ymax);
                }
        if constexpr (windows) // the padding windows of the last group
            for (std::size_t w = count; w < (count + L - 1) / L * L; ++w)
                for (std::size_t r = 0; r < 4; ++r)
                    BOOST_CHECK_EQUAL(z[c * cols + w / L * 4 * L + r * L + w % L], T(0));
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(pooling_runs_in_the_tiles) {
    // program<Net, fuse::all_t, T> for conv → unit → maxpool<2> takes the tile path with
    // a window on every ISA: its kept z is in window order, L = NR/4 windows per tile.
    const auto head = input<2, 6, 6>() >> conv2d<5, 3>() >> beta_vq<relu>(learnable(0.6f));
    for (std::size_t b : {1, 3, 4})
        BOOST_TEST_CONTEXT("batch " << b) {
            check_kept_z<float, true>(head >> maxpool<2>(), b);
            check_kept_z<double, true>(head >> maxpool<2>(), b);
            check_kept_z<float, false>(head, b);
            check_kept_z<double, false>(head, b);
        }
}
