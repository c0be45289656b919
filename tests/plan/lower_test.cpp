// Tests of include/maso/plan/lower.hpp, built once per ISA: the program keeps the
// buffers the plan says; the tile epilogue (bias → units → 2×2 pooling on the GEMM's
// register tiles, which pools only when k² equals the SIMD batches per tile, i.e. on
// AVX-512) computes what the unfused program computes, forward and backward; so do
// batch-norm groups, whose tiles gather the batch statistics in training and run the
// whole chain in evaluation; so does maxout as a group's channel window, on the tiles
// (maxout<R>, R | 6) or as a pass; so do dense layers' groups on their tiles; and the
// threaded passes give bitwise the same results at every thread count.
#define BOOST_TEST_MODULE plan.lower
#include <maso/maso.hpp>

#include <maso_test/expect_gradients.hpp>
#include <maso_test/isa.hpp>

#include <algorithm>
#include <type_traits>
#include <vector>

using namespace maso;

const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> maxpool<2>() >>
                 conv2d<4, 1, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>() >>
                 global_avgpool() >> softmax_cross_entropy();

BOOST_AUTO_TEST_CASE(the_program_keeps_what_the_plan_says) {
    using P = plan::program<std::decay_t<decltype(net)>, fuse::all_t, float>;
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

// The library picks its kernels by xsimd::default_arch; this executable's flags must
// make that the ISA it is named after, or the tile cases below test the wrong path.
static_assert(std::is_same_v<xsimd::default_arch, maso_test::test_arch>);

/// 2×2 pooling runs in the tiles when a tile's NR columns hold whole groups of 4
/// members: on every ISA (plan/tiles.hpp; NR = 64, 16, 8 floats on AVX-512, AVX2, SSE2).
template <class T>
constexpr bool pools_in_tiles =
    kernels::detail::gemm_blocking<maso_test::test_arch, T>::NR % 4 == 0;
static_assert(pools_in_tiles<float> && pools_in_tiles<double>);
/// 3×3 pooling never fits (no NR is a multiple of 9); 4×4 only in AVX-512's 64 floats.
static_assert(kernels::detail::gemm_blocking<maso_test::test_arch, float>::NR % 9 != 0);

/// expect_gradients checks the input gradient in double only; the float models run
/// with it enabled here, fused against unfused: relative 1e-5, with a floor of 1e-6
/// times the largest entry, for entries that cancel to float rounding of the sums
/// behind them (dx sums over channels and taps, in different orders in the two plans).
template <class Net>
void expect_float_input_gradient(const Net& n, std::size_t batch) {
    model<Net, fuse::all_t, float> a(n, batch, {.seed = 5});
    model<Net, fuse::none_t, float> b(n, batch, {.seed = 5});
    a.enable_input_gradient();
    b.enable_input_gradient();
    using In = typename decltype(a)::input_shape;
    using Out = typename decltype(a)::output_shape;
    const auto x = maso_test::uniform_vector<float>(In::size * batch, -1.5, 1.5);
    if constexpr (decltype(a)::has_loss) {
        std::vector<int> labels;
        for (std::size_t i = 0; i < batch; ++i)
            labels.push_back(int((3 * i + 1) % Out::channels));
        a.forward(x, labels);
        b.forward(x, labels);
        a.backward();
        b.backward();
    } else {
        const auto w = maso_test::uniform_vector<float>(Out::size * batch, -1, 1);
        a.forward(x);
        b.forward(x);
        a.backward(w);
        b.backward(w);
    }
    const auto ga = a.input_gradient(), gb = b.input_gradient();
    double gmax = 0;
    for (std::size_t i = 0; i < gb.size(); ++i)
        gmax = std::max(gmax, double(std::fabs(gb.data[i])));
    BOOST_CHECK_GT(gmax, 0.0);
    for (std::size_t i = 0; i < ga.size(); ++i)
        BOOST_TEST_CONTEXT("float input " << i << " fused vs unfused")
    MASO_CHECK_CLOSE(ga.data[i], gb.data[i], 1e-5, 1e-1 * gmax);
}

template <class Net>
void check_network(const Net& n) {
    // Windows per channel: batch × pooled plane (see the test cases for which counts
    // fill whole tiles of 16 windows in float, 8 in double).
    for (std::size_t b : {1, 3, 4})
        BOOST_TEST_CONTEXT("batch " << b) {
            maso_test::expect_gradients(n, {.batch = b});
            expect_float_input_gradient(n, b);
        }
}

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
// through memory). 4×4 pooling (16 members) fits the tiles only with AVX-512 float.
BOOST_AUTO_TEST_CASE(tile_epilogue_same_padding) {
    check_two_epilogues(input<2, 4, 4>() >> conv2d<5, 3>());
    check_epilogues(input<2, 4, 4>() >> conv2d<13, 3>());
    BOOST_TEST_CONTEXT("unit, softpool<4>")
    check_network(input<2, 8, 8>() >> conv2d<7, 3>() >> beta_vq<relu>(learnable(0.6f)) >>
                  softpool<4>(learnable(0.7f)));
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
    constexpr std::size_t L = kernels::detail::gemm_blocking<maso_test::test_arch, T>::NR / 4;
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
// maxout<R> (R | 6) on the GEMM's tiles, whose columns are the batch's images. 13 and
// 9 units leave partial 6-row tiles; batches 1, 3, 4 a partial tile of columns.
BOOST_AUTO_TEST_CASE(dense_groups_on_the_tiles) {
    const auto mlp = input<20>() >> dense<13>() >> beta_vq<relu>(learnable_per_channel(0.6f)) >>
                     dense<9>() >> maxout<3>(learnable(0.7f)) >> dense<5>() >>
                     softmax_cross_entropy();
    const auto normed = input<20>() >> dense<7>() >> batch_norm() >>
                        beta_vq<leaky_relu>(learnable(0.5f), leaky_relu{0.1});
    const auto normed_maxout =
        input<20>() >> dense<8>() >> batch_norm() >> beta_vq<relu>(learnable(0.6f)) >> maxout<2>();
    using M = std::decay_t<decltype(mlp)>;
    static_assert(plan::tiles<M, fuse::all_t, 0, float, maso_test::test_arch>().chain);
    static_assert(plan::tiles<M, fuse::all_t, 1, float, maso_test::test_arch>().window);
    static_assert(plan::tiles<std::decay_t<decltype(normed)>, fuse::all_t, 0>().statistics);
    BOOST_TEST_CONTEXT("units, maxout<3>") check_network(mlp);
    for (std::size_t b : {3, 4}) // a batch of 1 has no spread for the batch norm to divide
        BOOST_TEST_CONTEXT("batch " << b) {
            BOOST_TEST_CONTEXT("batch norm") check_batch_norm_group(normed, b);
            BOOST_TEST_CONTEXT("batch norm, maxout") check_batch_norm_group(normed_maxout, b);
        }
}

namespace {

struct thread_count_guard {
    std::size_t saved = num_threads();
    ~thread_count_guard() { set_num_threads(saved); }
};

template <class T, class Net>
void check_threads_bitwise(const Net& n) {
    constexpr std::size_t batch = 4;
    using M = model<Net, fuse::all_t, T>;
    const auto x = maso_test::uniform_vector<T>(M::input_shape::size * batch, -1.5, 1.5);
    const std::vector<int> labels{1, 4, 7, 2};
    struct result {
        T loss;
        std::vector<T> out, grads, dx, state, eval_out;
    };
    auto run = [&](std::size_t threads) {
        set_num_threads(threads);
        M m(n, batch, {.seed = 11});
        m.enable_input_gradient();
        result r;
        r.loss = m.forward(x, labels);
        m.backward();
        const auto o = m.output();
        const auto dx = m.input_gradient();
        r.out.assign(o.data, o.data + o.size());
        r.grads.assign(m.gradients().begin(), m.gradients().end());
        r.dx.assign(dx.data, dx.data + dx.size());
        r.state.assign(m.program().state().begin(), m.program().state().end());
        m.set_mode(mode::evaluation); // a batch norm then runs its whole chain on the tiles
        m.forward(x, labels);
        r.eval_out.assign(m.output().data, m.output().data + m.output().size());
        return r;
    };
    thread_count_guard guard;
    const result one = run(1);
    BOOST_CHECK(std::any_of(one.grads.begin(), one.grads.end(), [](T g) { return g != T(0); }));
    for (std::size_t threads : {2, 3}) {
        BOOST_TEST_CONTEXT(threads << " threads") {
            const result r = run(threads);
            BOOST_CHECK_EQUAL(r.loss, one.loss); // bitwise: exact equality
            BOOST_CHECK(r.out == one.out);
            BOOST_CHECK(r.grads == one.grads);
            BOOST_CHECK(r.dx == one.dx);
            BOOST_CHECK(r.state == one.state); // batch statistics gathered on the tiles
            BOOST_CHECK(r.eval_out == one.eval_out);
            for (std::size_t i = 0; i < r.grads.size(); ++i)
                if (r.grads[i] != one.grads[i]) {
                    BOOST_TEST_MESSAGE("first differing parameter gradient " << i);
                    break;
                }
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(threads_give_bitwise_equal_results) {
    // conv2d<16, 3> on 8×16×16 at batch 4: every product of the convolution is
    // 16·72·1024 ≥ 2^20 multiply-adds, so the GEMMs split across the threads, and the
    // per-channel passes (tile epilogue, backward, staged β and η sums) do too.
    const auto big = input<8, 16, 16>() >> conv2d<16, 3>() >> beta_vq<relu>(learnable(0.6f)) >>
                     softpool<2>(learnable(0.7f)) >> flatten() >> dense<10>() >>
                     softmax_cross_entropy();
    check_threads_bitwise<float>(big);
    check_threads_bitwise<double>(big);
    // Units without pooling: the per-channel chain pass and its staged sums.
    const auto units = input<8, 16, 16>() >> conv2d<16, 3>() >>
                       beta_vq<relu>(learnable_per_channel(0.6f)) >> global_avgpool() >>
                       softmax_cross_entropy();
    BOOST_TEST_CONTEXT("units") check_threads_bitwise<float>(units);
    // A batch-norm group: its statistics from tiles split across the threads.
    const auto normed = input<8, 16, 16>() >> conv2d<16, 3>() >> batch_norm() >>
                        beta_vq<relu>(learnable(0.6f)) >> maxpool<2>() >> flatten() >>
                        dense<10>() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("batch norm") check_threads_bitwise<float>(normed);
    // In training its window runs plane by plane, the channels split among the threads
    // when each has its own β (per channel), on the caller when they share one.
    const auto normed_soft = input<8, 16, 16>() >> conv2d<16, 3>() >> batch_norm() >>
                             softpool<2>(learnable_per_channel(0.7f)) >> flatten() >> dense<10>() >>
                             softmax_cross_entropy();
    BOOST_TEST_CONTEXT("batch norm, softpool") check_threads_bitwise<float>(normed_soft);
    // maxout<3> closing a batch-norm group: in training a pass per output channel after
    // the tiles' statistics, in evaluation on the tiles; its per-channel η sums and the
    // chain's β sums staged and committed in channel order.
    const auto normed_maxout =
        input<8, 16, 16>() >> conv2d<24, 3>() >> batch_norm() >> beta_vq<relu>(learnable(0.6f)) >>
        maxout<3>(learnable_per_channel(0.7f)) >> global_avgpool() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("batch norm, maxout") check_threads_bitwise<float>(normed_maxout);
    // Dense layers of 1024·512 weights at batch 4 (2^21 multiply-adds): the GEMMs split
    // by rows (units), the batch being narrower than two tiles.
    const auto mlp = input<1024>() >> dense<512>() >> batch_norm() >>
                     beta_vq<relu>(learnable_per_channel(0.6f)) >> dense<12>() >>
                     maxout<2>(learnable(0.7f)) >> dense<10>() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("dense") check_threads_bitwise<float>(mlp);
}
