// Tests of include/maso/run/program.hpp, built once per ISA: groups beyond a
// convolution's units and pooling — batch-norm groups, whose tiles gather the batch
// statistics in training and run the whole chain in evaluation; maxout as a group's
// channel window, on the tiles (maxout<R>, R | 6) or as a pass; dense layers' groups
// on their tiles — compute what the unfused program computes.
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

namespace {

/// Fused (batch-norm group on the tiles) against unfused, in float: two training
/// steps, then an evaluation forward and backward. After each forward the outputs and
/// the batch norm's state — running mean and variance, and the μ and 1/σ the forward
/// applied — agree to float rounding, after each backward the gradients. Then one
/// training forward on inputs at 40 ± 1.5 (valid padding: no border pixels near 0),
/// where every channel's mean is some 50 times its spread: a Σz² − (Σz)²/M variance
/// in float would lose three digits and fail the check of the running variance.
template <class Net>
void check_batch_norm_group(const Net& n, std::size_t batch) {
    constexpr std::size_t bn = 2; // input, conv2d, batch_norm
    using A = model<Net, fuse::all_t, float>;
    using B = model<Net, fuse::none_t, float>;
    constexpr std::size_t C = A::program_type::template layer_t<bn>::C;
    using In = typename A::input_shape;
    using Out = typename A::output_shape;
    // |u − v| ≤ rel·|v| or ≤ floor·max|v|: entries that cancel (a mean near 0, a
    // gradient crossing 0) differ by the rounding of the terms behind them.
    auto close = [](std::span<const float> u, std::span<const float> v, double rel, double floor) {
        BOOST_REQUIRE_EQUAL(u.size(), v.size());
        double vmax = 0;
        for (float e : v)
            vmax = std::max(vmax, double(std::fabs(e)));
        for (std::size_t i = 0; i < u.size(); ++i)
            BOOST_TEST_CONTEXT("entry " << i)
        MASO_CHECK_CLOSE(u[i], v[i], rel, floor / rel * vmax);
    };
    // The flag, running mean and variance, μ and 1/σ (the last backward's sums follow:
    // they cancel to rounding, and the gradients check them).
    auto statistics = [](auto& m) { return m.program().template state<bn>().first(1 + 4 * C); };
    {
        A a(n, batch, {.seed = 7});
        B b(n, batch, {.seed = 7});
        const auto x = maso_test::uniform_vector<float>(In::size * batch, -1.5, 1.5);
        const auto w = maso_test::uniform_vector<float>(Out::size * batch, -1, 1);
        for (mode m : {mode::training, mode::training, mode::evaluation})
            BOOST_TEST_CONTEXT((m == mode::training ? "training" : "evaluation")) {
                a.set_mode(m);
                b.set_mode(m);
                a.zero_gradients();
                b.zero_gradients();
                a.forward(x);
                b.forward(x);
                const auto ya = a.output(), yb = b.output();
                BOOST_TEST_CONTEXT("output")
                close({ya.data, ya.size()}, {yb.data, yb.size()}, 1e-5, 1e-6);
                BOOST_TEST_CONTEXT("batch-norm state")
                close(statistics(a), statistics(b), 1e-6, 1e-6);
                a.backward(w);
                b.backward(w);
                BOOST_TEST_CONTEXT("gradients") close(a.gradients(), b.gradients(), 1e-5, 1e-6);
            }
    }
    A a(n, batch, {.seed = 7});
    B b(n, batch, {.seed = 7});
    const auto x = maso_test::uniform_vector<float>(In::size * batch, 38.5, 41.5);
    a.forward(x);
    b.forward(x);
    BOOST_TEST_CONTEXT("offset input, batch-norm state")
    close(statistics(a), statistics(b), 1e-6, 1e-6);
    // The running variance and 1/σ on their own, relative to themselves.
    BOOST_TEST_CONTEXT("offset input, running variance")
    close(statistics(a).subspan(1 + C, C), statistics(b).subspan(1 + C, C), 1e-5, 0);
    BOOST_TEST_CONTEXT("offset input, 1/σ")
    close(statistics(a).subspan(1 + 3 * C, C), statistics(b).subspan(1 + 3 * C, C), 1e-5, 0);
}

} // namespace

// conv → batch norm → units (→ 2×2 window, or maxout<2> over 8 channels: a partial
// 6-row tile of 2 groups): 7 channels leave a partial 6-row tile;
// at batch 1 and 3 the 6×6 maps give 36 and 108 columns per channel (a partial tile
// of z on every ISA) and 9 and 27 windows (a partial group of windows).
BOOST_AUTO_TEST_CASE(batch_norm_groups_on_the_tiles) {
    const auto maxpooled = input<3, 8, 8>() >> conv2d<7, 3, 1, padding::valid>() >> batch_norm() >>
                           beta_vq<relu>(learnable(0.6f)) >> maxpool<2>();
    const auto softpooled = input<2, 8, 8>() >> conv2d<7, 3, 1, padding::valid, false>() >>
                            batch_norm() >> beta_vq<relu>(learnable_per_channel(0.6f)) >>
                            softpool<2>(learnable(0.7f));
    const auto units = input<3, 8, 8>() >> conv2d<7, 3, 1, padding::valid>() >> batch_norm() >>
                       beta_vq<leaky_relu>(learnable_per_channel(0.5f), leaky_relu{0.1});
    // A channel window: a pass per output channel in training, the tiles in evaluation.
    const auto maxout_closed = input<3, 8, 8>() >> conv2d<8, 3, 1, padding::valid>() >>
                               batch_norm() >> beta_vq<relu>(learnable(0.6f)) >>
                               maxout<2>(learnable(0.7f));
    using M = std::decay_t<decltype(maxpooled)>;
    static_assert(plan::groups_v<M, fuse::all_t>.size() == 1); // the window joins the group
    static_assert(plan::tiles<std::decay_t<decltype(maxout_closed)>, fuse::all_t, 0>().window);
    constexpr plan::tile_plan t = plan::tiles<M, fuse::all_t, 0, float, maso_test::test_arch>();
    static_assert(t.statistics && t.chain == pools_in_tiles<float> && t.window == t.chain);
    static_assert(plan::tiles<std::decay_t<decltype(units)>, fuse::all_t, 0>().chain);
    for (std::size_t b : {1, 3})
        BOOST_TEST_CONTEXT("batch " << b) {
            BOOST_TEST_CONTEXT("maxpool") {
                maso_test::expect_gradients(maxpooled, {.batch = b});
                check_batch_norm_group(maxpooled, b);
            }
            BOOST_TEST_CONTEXT("softpool") {
                maso_test::expect_gradients(softpooled, {.batch = b});
                check_batch_norm_group(softpooled, b);
            }
            BOOST_TEST_CONTEXT("units") check_batch_norm_group(units, b);
        }
    // After the others, which draw their inputs first (their finite differences are
    // checked on the inputs they always had).
    for (std::size_t b : {1, 3})
        BOOST_TEST_CONTEXT("batch " << b << ", maxout") check_batch_norm_group(maxout_closed, b);
}

// maxout<R> closes a group headed by a contraction as its channel window. R | 6 (the
// tile's MR rows on every ISA) reduces the rows on the tiles: 10 channels in groups of
// 2 leave a partial tile of 4 rows, 9 in groups of 3 one of 3. maxout<4> takes the pass
// over z per output channel. Batches 1, 3, 4 give 36, 108, 144 columns per channel: a
// partial last tile and SIMD tail on every ISA.
BOOST_AUTO_TEST_CASE(maxout_as_the_groups_channel_window) {
    const auto hard =
        input<2, 6, 6>() >> conv2d<10, 3>() >> beta_vq<relu>(learnable(0.6f)) >> maxout<2>();
    const auto soft = input<2, 6, 6>() >> conv2d<9, 3>() >> maxout<3>(learnable(0.7f));
    const auto pass = input<2, 6, 6>() >> conv2d<8, 3, 1, padding::same, false>() >>
                      beta_vq<relu>(learnable(0.6f)) >> maxout<4>(learnable_per_channel(0.4f));
    using H = std::decay_t<decltype(hard)>;
    using P = std::decay_t<decltype(pass)>;
    static_assert(plan::groups_v<H, fuse::all_t>.size() == 1);
    static_assert(plan::groups_v<H, fuse::all_t>[0].channel_window);
    static_assert(plan::tiles<H, fuse::all_t, 0, float, maso_test::test_arch>().window);
    static_assert(plan::tiles<H, fuse::all_t, 0, double, maso_test::test_arch>().window);
    static_assert(plan::groups_v<P, fuse::all_t>[0].channel_window);
    static_assert(!plan::tiles<P, fuse::all_t, 0, float, maso_test::test_arch>().window);
    BOOST_TEST_CONTEXT("hard maxout<2> on the tiles") check_network(hard);
    BOOST_TEST_CONTEXT("learnable maxout<3> on the tiles") check_network(soft);
    BOOST_TEST_CONTEXT("maxout<4> per output channel, as a pass") check_network(pass);
}

// A dense layer heads its group like a convolution: bias, batch-norm apply, units and
// maxout<R> (R | 6) on the GEMM's tiles, whose columns are the batch's images — but
// its units alone run as one pass over z (plan/tiles.hpp). 13 and 9 units leave
// partial 6-row tiles; batches 1, 3, 4 a partial tile of columns.
BOOST_AUTO_TEST_CASE(dense_groups_on_the_tiles) {
    const auto mlp = input<20>() >> dense<13>() >> beta_vq<relu>(learnable_per_channel(0.6f)) >>
                     dense<9>() >> maxout<3>(learnable(0.7f)) >> dense<5>() >>
                     softmax_cross_entropy();
    const auto normed = input<20>() >> dense<7>() >> batch_norm() >>
                        beta_vq<leaky_relu>(learnable(0.5f), leaky_relu{0.1});
    const auto normed_maxout =
        input<20>() >> dense<8>() >> batch_norm() >> beta_vq<relu>(learnable(0.6f)) >> maxout<2>();
    using M = std::decay_t<decltype(mlp)>;
    static_assert(!plan::tiles<M, fuse::all_t, 0, float, maso_test::test_arch>().chain);
    static_assert(plan::tiles<M, fuse::all_t, 1, float, maso_test::test_arch>().window);
    static_assert(plan::tiles<std::decay_t<decltype(normed)>, fuse::all_t, 0>().statistics);
    BOOST_TEST_CONTEXT("units, maxout<3>") check_network(mlp);
    for (std::size_t b : {3, 4}) // a batch of 1 has no spread for the batch norm to divide
        BOOST_TEST_CONTEXT("batch " << b) {
            BOOST_TEST_CONTEXT("batch norm") check_batch_norm_group(normed, b);
            BOOST_TEST_CONTEXT("batch norm, maxout") check_batch_norm_group(normed_maxout, b);
        }
}
