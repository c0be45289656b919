// Tests of include/maso/run/codes.hpp, built once per ISA: the codes the fused kernels record
// are the argmax of the unfused program's values — for every unit of a β-VQ or hard node
// (one bit-plane per bit of the region index), every max-pooling window and every maxout — on
// each path a kernel can take (the register tiles, with and without window order; the
// statistics product and its pass; the plane pass, with a chain and without; the dense
// chain pass; the channel-window pass), at sizes whose rows end in a partial batch of lanes.
// The β-VQ posteriors (of the units, the K×K windows, maxout and global pooling) match the
// closed form; recording allocates nothing after
// record_codes; an unfused program refuses. The recording loops on lanes equal the scalar
// ones across tails, and a window's bit-planes spell its first maximum.
#include <maso/maso.hpp>

#include <maso_test/count_allocations.hpp>
#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using namespace maso;
using maso_test::test_arch;

namespace {

template <class Net>
using fused_t = model<Net, fuse::all_t, float, test_arch>;
template <class Net>
using unfused_t = model<Net, fuse::none_t, float, test_arch>;

/// The first maximum of v and the gap to the runner-up (how far from a tie it is).
std::pair<std::size_t, double> first_max(const std::vector<double>& v) {
    std::size_t best = 0;
    for (std::size_t r = 1; r < v.size(); ++r)
        if (v[r] > v[best]) best = r;
    double gap = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < v.size(); ++r)
        if (r != best) gap = std::min(gap, v[best] - v[r]);
    return {best, gap};
}

struct tally {
    std::size_t units = 0, checked = 0;
};

/// Node I's codes in `f` against the argmax of its input in the unfused `u` (which keeps every
/// node's output, channel-major). Units within `tie` of a tie are not held to it: the two
/// programs round differently.
template <std::size_t I, class F, class U>
void check_node(F& f, U& u, tally& t, double tie) {
    using P = typename F::program_type;
    using node = typename P::template node_t<I>;
    using In = typename P::template out_shape<I - 1>;
    constexpr std::size_t regions = run::code_regions_of<node, In>();
    if constexpr (regions != 0) {
        using Out = typename P::template out_shape<I>;
        const std::size_t N = f.batch();
        const auto& codes = f.program().codes()[I];
        BOOST_REQUIRE(codes.recorded());
        BOOST_TEST(codes.regions == regions);
        const std::span<const float> x = u.program().kept_output(I - 1);
        BOOST_REQUIRE_EQUAL(x.size(), In::size * N);
        auto at = [&](std::size_t c, std::size_t n, std::size_t p) {
            return double(x[(c * N + n) * In::plane + p]);
        };
        auto expect = [&](std::size_t c, std::size_t n, std::size_t p,
                          const std::vector<double>& v) {
            const auto [best, gap] = first_max(v);
            ++t.units;
            if (gap < tie) return;
            ++t.checked;
            const std::size_t got = codes.region(c, n, p);
            if (got != best)
                BOOST_ERROR("node " << I << " (" << f.program().node_name(I) << "): unit (" << c
                                    << ", " << n << ", " << p << ") has code " << got
                                    << ", the unfused argmax is " << best << " (gap " << gap
                                    << ")");
        };
        for (std::size_t c = 0; c < Out::channels; ++c)
            for (std::size_t n = 0; n < N; ++n)
                for (std::size_t p = 0; p < Out::plane; ++p) {
                    std::vector<double> v;
                    if constexpr (node::kind == node_kind::elementwise) {
                        const auto unit = maso::get<I>(f.program().net().nodes).unit;
                        for (std::size_t r = 0; r < regions; ++r)
                            v.push_back(unit.template slope<double>(r, 0) * at(c, n, p) +
                                        unit.template offset<double>(r));
                    } else if constexpr (requires { node::channel_window; }) {
                        for (std::size_t r = 0; r < regions; ++r)
                            v.push_back(at(c * regions + r, n, p));
                    } else if constexpr (!requires { node::window; }) { // a whole plane
                        for (std::size_t q = 0; q < In::plane; ++q)
                            v.push_back(at(c, n, q));
                    } else { // a K×K window, members row-major
                        constexpr std::size_t K = node::window;
                        const std::size_t y = p / Out::width, x0 = p % Out::width;
                        for (std::size_t a = 0; a < K; ++a)
                            for (std::size_t b = 0; b < K; ++b)
                                v.push_back(at(c, n, (y * K + a) * In::width + x0 * K + b));
                    }
                    expect(c, n, p, v);
                }
    }
}

template <class F, class U>
tally check_codes(F& f, U& u, double tie = 1e-4) {
    tally t;
    [&]<std::size_t... I>(std::index_sequence<I...>) { (check_node<I + 1>(f, u, t, tie), ...); }
    (std::make_index_sequence<F::node_count - 1>{});
    BOOST_TEST_MESSAGE(t.checked << " of " << t.units << " units checked");
    BOOST_TEST(t.units > 0u);
    BOOST_TEST(t.checked >= t.units * 9 / 10); // ties are rare, not the rule
    return t;
}

template <class Net>
std::vector<float> images(std::size_t batch, unsigned seed) {
    using S = typename fused_t<Net>::input_shape;
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> x(S::size * batch);
    for (float& v : x)
        v = d(rng);
    return x;
}

/// Fused with codes against unfused, in training and then in evaluation mode.
template <class Net>
void check_network(const Net& net, std::size_t batch) {
    fused_t<Net> f(net, batch, {.seed = 3});
    unfused_t<Net> u(net, batch, {.seed = 3});
    f.program().record_codes(true, true);
    for (unsigned round = 0; round < 2; ++round) {
        const mode m = round == 0 ? mode::training : mode::evaluation;
        BOOST_TEST_CONTEXT("mode " << (round == 0 ? "training" : "evaluation")) {
            f.set_mode(m);
            u.set_mode(m);
            const auto x = images<Net>(batch, 11 + round);
            f.forward(x);
            u.forward(x);
            check_codes(f, u);
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(tiles_pooling_in_window_order) {
    // conv → β-VQ → maxpool<2>: the chain and the window on the tiles, z in window order.
    check_network(input<2, 6, 6>() >> conv2d<5, 3>() >> beta_vq<relu>(0.8f) >> maxpool<2>() >>
                      flatten() >> dense<3>(),
                  3);
}

BOOST_AUTO_TEST_CASE(batch_norm_statistics_then_planes) {
    // Training: the statistics product, then the plane pass (chain and window); evaluation:
    // the tiles. A second, lone maxpool runs the plane pass without a chain.
    check_network(input<3, 8, 8>() >> conv2d<7, 3, 1, padding::same, false>() >> batch_norm() >>
                      hard_vq<relu>() >> maxpool<2>() >> maxpool<2>() >> flatten() >> dense<2>(),
                  3);
}

BOOST_AUTO_TEST_CASE(plane_passes_that_fill_whole_words) {
    // 20×20 maps in training: 100 windows a plane, so each plane pass fills a whole word of
    // codes, then a partial one ending in a padded batch; the soft window (softpool) takes the
    // pass's soft branch, and the lone maxpool's pass, without a chain, spans all 3 planes of
    // a channel (75 windows) at once.
    check_network(input<2, 20, 20>() >> conv2d<3, 3, 1, padding::same, false>() >> batch_norm() >>
                      hard_vq<relu>() >> softpool<2>(0.7f) >> maxpool<2>() >> flatten() >>
                      dense<2>(),
                  3);
}

BOOST_AUTO_TEST_CASE(global_pooling_picks_a_member_of_each_plane) {
    // global_softpool: a unit per plane of 5×5 = 25 regions (five bit-planes), its code the
    // plane's first maximum whatever β; after a chain (the plane pass with its buffer) and
    // alone after a maxpool (the channel's planes at once).
    check_network(input<2, 5, 5>() >> conv2d<3, 3, 1, padding::same, false>() >> batch_norm() >>
                      hard_vq<relu>() >> global_softpool(0.6f) >> dense<2>(),
                  3);
    check_network(input<2, 10, 10>() >> conv2d<3, 3, 1, padding::same>() >> beta_vq<relu>(0.7f) >>
                      maxpool<2>() >> global_softpool(1.f) >> dense<2>(),
                  3);
}

BOOST_AUTO_TEST_CASE(planes_with_a_chain_and_a_window_off_the_tiles) {
    // 3×3 windows never fit a tile: the plane pass; absolute value and leaky ReLU units.
    check_network(input<2, 9, 9>() >> conv2d<4, 3>() >> beta_vq<absolute>(0.6f) >>
                      hard_vq(leaky_relu{0.1}) >> maxpool<3>() >> flatten() >> dense<2>(),
                  2);
}

BOOST_AUTO_TEST_CASE(dense_chain_pass_and_channel_windows) {
    // dense → units: the chain pass; dense → maxout<2>: the tiles' rows; maxout<4>: the
    // channel-window pass; a three-region unit: one byte a code.
    check_network(input<13>() >> dense<9>() >> hard_vq<absolute>() >> dense<8>() >> maxout<2>() >>
                      dense<8>() >> beta_vq<relu>(0.7f) >> maxout<4>() >> dense<5>() >>
                      hard_vq<vq::two_knot>() >> dense<2>(),
                  5);
}

BOOST_AUTO_TEST_CASE(codes_are_bit_packed) {
    const auto net = input<3, 4, 4>() >> conv2d<2, 1>() >> hard_vq<relu>() >> maxpool<2>() >>
                     flatten() >> dense<6>() >> hard_vq<vq::two_knot>() >> maxout<3>();
    fused_t<std::decay_t<decltype(net)>> f(net, 3);
    f.program().record_codes();
    const auto& c = f.program().codes();
    BOOST_TEST(c[1].regions == 0u);  // a convolution has no units
    BOOST_TEST(c[2].planes() == 1u); // two regions: one bit
    BOOST_TEST(c[3].planes() == 2u); // a 2×2 window: two bits
    BOOST_TEST(c[6].planes() == 2u); // three regions: two bits
    BOOST_TEST(c[7].planes() == 2u); // maxout<3>
    BOOST_TEST(c[2].ld == 64u);      // 3 images of 16 pixels, padded to a word
    // 12 windows: one word, or on the tiles a word per tile's windows.
    BOOST_TEST(c[3].ld % 64 == 0u);
    BOOST_TEST(c[3].ld >= 64u);
}

BOOST_AUTO_TEST_CASE(posteriors_are_the_closed_form) {
    const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.7f) >> global_avgpool();
    using Net = std::decay_t<decltype(net)>;
    fused_t<Net> f(net, 2, {.seed = 1});
    unfused_t<Net> u(net, 2, {.seed = 1});
    f.program().record_codes(true, true);
    const auto x = images<Net>(2, 5);
    f.forward(x);
    u.forward(x);
    const double eta = 0.7 / 0.3;
    const auto& c = f.program().codes()[2];
    const std::span<const float> z = u.program().kept_output(1);
    for (std::size_t ch = 0; ch < 3; ++ch)
        for (std::size_t n = 0; n < 2; ++n)
            for (std::size_t p = 0; p < 16; ++p) {
                const double zv = z[(ch * 2 + n) * 16 + p];
                const double p1 = 1 / (1 + std::exp(-eta * zv));
                BOOST_TEST(double(c.posterior(ch, n, p, 1)) == p1,
                           boost::test_tools::tolerance(1e-4));
                BOOST_TEST(double(c.posterior(ch, n, p, 0)) == 1 - p1,
                           boost::test_tools::tolerance(1e-4));
            }
}

BOOST_AUTO_TEST_CASE(window_posteriors_are_the_closed_form) {
    // softpool<2> at β = 0.7 and maxpool<2> after it: in training the plane pass (after the
    // batch norm's statistics), in evaluation the register tiles where the ISA pools on them.
    // Each window's posteriors against e^{η(v_r − max)} / Σ of the unfused program's input to
    // the window, and max pooling's against the one-hot of its first maximum.
    const auto net = input<2, 12, 12>() >> conv2d<3, 3, 1, padding::same, false>() >>
                     batch_norm() >> hard_vq<relu>() >> softpool<2>(0.7f) >> maxpool<2>() >>
                     flatten() >> dense<2>();
    using Net = std::decay_t<decltype(net)>;
    constexpr std::size_t N = 3;
    fused_t<Net> f(net, N, {.seed = 2});
    unfused_t<Net> u(net, N, {.seed = 2});
    f.program().record_codes(true, true);
    for (const mode m : {mode::training, mode::evaluation}) {
        BOOST_TEST_CONTEXT("mode " << (m == mode::training ? "training" : "evaluation")) {
            f.set_mode(m);
            u.set_mode(m);
            const auto x = images<Net>(N, 7);
            f.forward(x);
            u.forward(x);
            // node 4: softpool on 12×12 maps; node 5: maxpool on 6×6
            auto check = [&](std::size_t node, std::size_t side, double eta) {
                const auto& c = f.program().codes()[node];
                BOOST_REQUIRE(c.posteriors != nullptr);
                const std::span<const float> in = u.program().kept_output(node - 1);
                const std::size_t out = side / 2, plane = side * side;
                for (std::size_t ch = 0; ch < 3; ++ch)
                    for (std::size_t n = 0; n < N; ++n)
                        for (std::size_t p = 0; p < out * out; ++p) {
                            std::vector<double> v;
                            for (std::size_t a = 0; a < 2; ++a)
                                for (std::size_t b = 0; b < 2; ++b)
                                    v.push_back(in[(ch * N + n) * plane + (p / out * 2 + a) * side +
                                                   p % out * 2 + b]);
                            const auto [best, gap] = first_max(v);
                            double total = 0;
                            for (const double vr : v)
                                total += std::exp(eta * (vr - v[best]));
                            for (std::size_t r = 0; r < 4; ++r) {
                                const double want = std::isinf(eta)
                                                        ? double(r == best)
                                                        : std::exp(eta * (v[r] - v[best])) / total;
                                if (std::isinf(eta) && gap < 1e-4) continue; // a tie
                                BOOST_TEST_CONTEXT("node " << node << ", unit (" << ch << ", " << n
                                                           << ", " << p << "), member " << r)
                                BOOST_TEST(double(c.posterior(ch, n, p, r)) == want,
                                           boost::test_tools::tolerance(1e-4));
                            }
                        }
            };
            check(4, 12, 0.7 / 0.3);
            check(5, 6, std::numeric_limits<double>::infinity());
        }
    }
}

BOOST_AUTO_TEST_CASE(maxout_and_global_pooling_posteriors_are_the_closed_form) {
    // maxout<3>(β) after a convolution's units (the channel-window pass), global_softpool(β)
    // after it (the plane pass over the channel's planes), maxout<2>(β) after dense (the tiles'
    // rows, a learnable β per channel) and a hard maxout (the one-hot of its first maximum):
    // each unit's posteriors against e^{η(v_r − max)} / Σ of the unfused program's values.
    const auto net = input<2, 5, 5>() >> conv2d<6, 3, 1, padding::same>() >> beta_vq<relu>(0.6f) >>
                     maxout<3>(0.7f) >> global_softpool(0.5f) >> dense<6>() >>
                     maxout<2>(learnable_per_channel(0.8f)) >> dense<4>() >> maxout<2>() >>
                     dense<2>();
    using Net = std::decay_t<decltype(net)>;
    constexpr std::size_t N = 3;
    fused_t<Net> f(net, N, {.seed = 4});
    unfused_t<Net> u(net, N, {.seed = 4});
    f.program().record_codes(true, true);
    const auto x = images<Net>(N, 9);
    f.forward(x);
    u.forward(x);
    // Node i's units: `units` per image, each over `members` values of node i − 1's output
    // (member r of unit (c, p) at channel c·R + r for maxout, at pixel r for a plane).
    auto check = [&](std::size_t node, std::size_t channels, std::size_t plane, std::size_t members,
                     bool whole_plane, double eta) {
        const auto& c = f.program().codes()[node];
        BOOST_REQUIRE(c.posteriors != nullptr);
        const std::span<const float> in = u.program().kept_output(node - 1);
        const std::size_t in_plane = whole_plane ? plane * members : plane;
        for (std::size_t ch = 0; ch < channels; ++ch)
            for (std::size_t n = 0; n < N; ++n)
                for (std::size_t p = 0; p < plane; ++p) {
                    std::vector<double> v;
                    for (std::size_t r = 0; r < members; ++r)
                        v.push_back(whole_plane ? in[(ch * N + n) * in_plane + r]
                                                : in[((ch * members + r) * N + n) * in_plane + p]);
                    const auto [best, gap] = first_max(v);
                    double total = 0;
                    for (const double vr : v)
                        total += std::exp(eta * (vr - v[best]));
                    for (std::size_t r = 0; r < members; ++r) {
                        if (std::isinf(eta) && gap < 1e-4) continue; // a tie
                        const double want = std::isinf(eta)
                                                ? double(r == best)
                                                : std::exp(eta * (v[r] - v[best])) / total;
                        BOOST_TEST_CONTEXT("node " << node << ", unit (" << ch << ", " << n << ", "
                                                   << p << "), member " << r)
                        BOOST_TEST(double(c.posterior(ch, n, p, r)) == want,
                                   boost::test_tools::tolerance(1e-4));
                    }
                }
    };
    check(3, 2, 25, 3, false, 0.7 / 0.3); // maxout<3>(0.7): 6 channels → 2 of 5×5
    check(4, 2, 1, 25, true, 0.5 / 0.5);  // global_softpool(0.5): a 5×5 plane a unit
    check(6, 3, 1, 2, false, 0.8 / 0.2);  // maxout<2>, learnable β = 0.8 at the start
    check(8, 2, 1, 2, false, std::numeric_limits<double>::infinity()); // hard maxout<2>
}

BOOST_AUTO_TEST_CASE(global_pooling_posteriors_at_infinite_eta_share_the_tied_maxima) {
    // A learned θ of 100 is η = ∞ in float without being the hard path: the posterior is the
    // tied maxima's uniform share (vq/beta_window.hpp's limit), never exp(∞ · 0) = NaN. Image 0
    // is constant, so its planes are nine tied members; image 1 has one maximum per plane.
    const auto net = input<1, 3, 3>() >> conv2d<2, 1, 1, padding::same, false>() >>
                     global_softpool(learnable_per_channel(0.5f)) >> dense<2>();
    using Net = std::decay_t<decltype(net)>;
    fused_t<Net> f(net, 2, {.seed = 1});
    unfused_t<Net> u(net, 2, {.seed = 1});
    auto set_theta = [](auto& m) {
        for (auto& t : m.state_dict())
            if (t.kind == parameter_kind::beta)
                for (float& theta : t.value)
                    theta = 100.f;
    };
    set_theta(f);
    set_theta(u);
    f.program().record_codes(true, true);
    std::vector<float> x(18, 0.5f);
    for (std::size_t i = 9; i < 18; ++i)
        x[i] = float(i % 7) * 0.3f - float(i % 3);
    f.forward(x);
    u.forward(x);
    const auto& c = f.program().codes()[2];
    BOOST_REQUIRE(c.posteriors != nullptr);
    const std::span<const float> z = u.program().kept_output(1);
    for (std::size_t ch = 0; ch < 2; ++ch)
        for (std::size_t n = 0; n < 2; ++n) {
            std::vector<double> v(z.begin() + (ch * 2 + n) * 9, z.begin() + (ch * 2 + n) * 9 + 9);
            const double top = *std::max_element(v.begin(), v.end());
            const double ties = double(std::count(v.begin(), v.end(), top));
            for (std::size_t r = 0; r < 9; ++r)
                BOOST_TEST_CONTEXT("channel " << ch << ", image " << n << ", member " << r)
            BOOST_TEST(double(c.posterior(ch, n, 0, r)) == (v[r] == top ? 1 / ties : 0.0),
                       boost::test_tools::tolerance(1e-6));
        }
}

BOOST_AUTO_TEST_CASE(recording_allocates_nothing_after_record_codes) {
    const auto net = input<2, 6, 6>() >> conv2d<5, 3>() >> batch_norm() >> hard_vq<relu>() >>
                     maxpool<2>() >> flatten() >> dense<4>() >> maxout<2>();
    using Net = std::decay_t<decltype(net)>;
    fused_t<Net> f(net, 3);
    f.program().record_codes(true, true);
    const auto x = images<Net>(3, 2);
    const long before = maso_test::allocations();
    f.forward(x);
    f.set_mode(mode::evaluation);
    f.forward(x);
    BOOST_TEST(maso_test::allocations() == before);
}

BOOST_AUTO_TEST_CASE(an_unfused_program_refuses) {
    const auto net = input<3>() >> dense<4>() >> hard_vq<relu>();
    unfused_t<std::decay_t<decltype(net)>> u(net, 2);
    BOOST_CHECK_THROW(u.program().record_codes(), value_error);
}

namespace {
/// A chain's codes and values through the SIMD loop and the scalar one, for n values written
/// from column j0 (so that the bits straddle words): equal codes, and equal values for the
/// hard unit (the β-VQ one rounds exp differently: 1e-6).
template <class U>
void check_simd_against_scalar(const U& unit, float beta, std::size_t n, std::size_t j0) {
    using T = float;
    const auto b = vq::basic_beta<T>::from_beta(beta);
    const auto ops = std::tuple{bias_op<T>{T(0.25), nullptr},
                                vq_op<U, T>{vq::beta_pass_for<U, T>(unit, b),
                                            vq::hard_pass_for<U, T>(unit), b.is_hard(), nullptr}};
    std::mt19937 rng(unsigned(n * 7 + j0));
    std::normal_distribution<T> d(0, 1);
    std::vector<T> x(n), y_simd(n), y_scalar(n);
    for (std::size_t i = 0; i < n; ++i)
        x[i] = i % 5 == 0 ? T(-0.25) : d(rng); // some exactly at the kink: the tie rule
    auto codes_of = [&](auto arch, std::vector<T>& y) {
        run::node_codes<T> c;
        c.regions = U::regions;
        c.channels = 1;
        c.height = 1;
        c.width = j0 + n;
        c.ld = (j0 + n + 63) / 64 * 64;
        std::vector<std::uint64_t> words(c.planes() * c.ld / 64, 0);
        c.bits = words.data();
        const std::array<const run::node_codes<T>*, 2> sinks{nullptr, &c};
        run::coded_chain_forward(arch, ops, sinks, 0, j0, x.data(), y.data(), n);
        std::vector<std::size_t> r(n);
        for (std::size_t i = 0; i < n; ++i)
            r[i] = c.region(0, 0, j0 + i);
        return std::pair{r, words};
    };
    const auto [r_simd, w_simd] = codes_of(test_arch{}, y_simd);
    const auto [r_scalar, w_scalar] = codes_of(simd::scalar_arch{}, y_scalar);
    BOOST_TEST(r_simd == r_scalar, boost::test_tools::per_element());
    BOOST_TEST(w_simd == w_scalar, boost::test_tools::per_element()); // nothing past the n units
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> v;
        for (std::size_t r = 0; r < U::regions; ++r)
            v.push_back(unit.template slope<double>(r, 0) * (double(x[i]) + 0.25) +
                        unit.template offset<double>(r));
        BOOST_TEST(r_simd[i] == first_max(v).first);
        if (b.is_hard())
            BOOST_TEST(y_simd[i] == y_scalar[i]);
        else
            BOOST_TEST(y_simd[i] == y_scalar[i], boost::test_tools::tolerance(T(1e-6)));
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(simd_equals_scalar_across_tails) {
    constexpr std::size_t W = xsimd::batch<float, test_arch>::size;
    for (const std::size_t n : {std::size_t{1}, W - 1, W, W + 1, 3 * W + 1, std::size_t{64},
                                std::size_t{65}, std::size_t{200}})
        for (const std::size_t j0 : {std::size_t{0}, std::size_t{37}})
            BOOST_TEST_CONTEXT("n = " << n << ", from column " << j0) {
                check_simd_against_scalar(vq::relu{}, 1.f, n, j0);
                check_simd_against_scalar(vq::absolute{}, 0.7f, n, j0);
                check_simd_against_scalar(vq::two_knot{}, 1.f, n, j0); // two bit-planes
            }
}

BOOST_AUTO_TEST_CASE(a_windows_bit_planes_are_its_first_maximum) {
    // Every pattern of ties among four members, and random nine-member windows, on lanes and
    // one at a time: the bits spell the first maximum's index.
    using batch = xsimd::batch<float, test_arch>;
    constexpr std::size_t W = batch::size;
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> level(0, 2); // few levels: many ties
    auto check = [&]<std::size_t R>(std::integral_constant<std::size_t, R>) {
        constexpr std::size_t P = std::bit_width(R - 1);
        for (int trial = 0; trial < 200; ++trial) {
            std::array<batch, R> v;
            alignas(64) float m[R][W];
            for (std::size_t r = 0; r < R; ++r) {
                for (std::size_t l = 0; l < W; ++l)
                    m[r][l] = float(level(rng));
                v[r] = batch::load_aligned(m[r]);
            }
            batch best, best_of_bits;
            const auto planes = run::first_max_planes<P>(v, best);
            const auto bits = run::first_max_bits<P>(v, best_of_bits);
            for (std::size_t l = 0; l < W; ++l) {
                std::array<float, R> s;
                for (std::size_t r = 0; r < R; ++r)
                    s[r] = m[r][l];
                float sbest, sbest_of_bits;
                const auto sp = run::first_max_planes<P>(s, sbest);
                const auto sb = run::first_max_bits<P>(s, sbest_of_bits);
                const std::size_t want =
                    std::size_t(std::max_element(s.begin(), s.end()) - s.begin());
                std::size_t got = 0, got_scalar = 0, got_bits = 0, got_scalar_bits = 0;
                for (std::size_t q = 0; q < P; ++q) {
                    got |= std::size_t((simd::lane_bits(planes[q]) >> l) & 1) << q;
                    got_scalar |= std::size_t(sp[q]) << q;
                    got_bits |= std::size_t((bits[q] >> l) & 1) << q;
                    got_scalar_bits |= std::size_t(sb[q] & 1) << q;
                }
                BOOST_TEST(got == want);
                BOOST_TEST(got_scalar == want);
                BOOST_TEST(got_bits == want);
                BOOST_TEST(got_scalar_bits == want);
                BOOST_TEST(best.get(l) == s[want]);
                BOOST_TEST(best_of_bits.get(l) == s[want]);
                BOOST_TEST(sbest_of_bits == s[want]);
            }
            for (std::size_t q = 0; q < P; ++q) // nothing past the lanes
                BOOST_TEST((W == 64 || bits[q] >> W == 0));
        }
    };
    check(std::integral_constant<std::size_t, 4>{});
    check(std::integral_constant<std::size_t, 9>{});
}
