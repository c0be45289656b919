// Tests of include/maso/inspect/affine_map.hpp, in double: on a sample's cell the network map
// A x + b is the network's output, and A its Jacobian by central differences (for samples
// whose perturbed copies stay in the cell, which their codes tell); each layer's map sends
// the layer's input to its output, and the layers' maps compose to the network's; with the
// β-VQ posteriors, of units and of the windows (softpool, maxout, global pooling), the map gives a
// soft network's output exactly (eq. 16). In float the map matches the float forward to float
// rounding. Training mode, missing codes, and a soft window in posterior mode without its
// posteriors are refused.
#include <maso/inspect/affine_map.hpp>
#include <maso/inspect/cells.hpp>
#include <maso/maso.hpp>

#include <maso_test/check.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>
#include <vector>

using namespace maso;

namespace {

// Every piecewise-affine node kind: convolution (same, stride 2, valid), batch norm, the units
// (ReLU, absolute value, leaky ReLU, three regions), max and average pooling, maxout, flatten,
// dense, and the loss the network map leaves out.
const auto net =
    input<2, 8, 8>() >> conv2d<4, 3>() >>
    batch_norm() >> hard_vq<relu>() >> maxpool<2>() >> conv2d<6, 3, 2, padding::same, false>() >>
    hard_vq<absolute>() >> maxout<2>() >> conv2d<4, 1, 1, padding::valid>() >>
    hard_vq(leaky_relu{0.2}) >> avgpool<2>() >>
    flatten() >> dense<7>() >> hard_vq<vq::two_knot>() >> dense<3>() >> softmax_cross_entropy();
using Net = std::decay_t<decltype(net)>;

/// Random γ, β and running statistics for the batch norm (node 2), so that it folds as
/// something other than the identity.
template <class M>
void randomise_batch_norm(M& m, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(0.5, 1.5), v(-0.3, 0.3);
    for (auto& t : m.state_dict())
        if (t.name.rfind("2.", 0) == 0)
            for (auto& x : t.value)
                x = t.kind == parameter_kind::running_var || t.kind == parameter_kind::scale
                        ? u(rng)
                        : v(rng);
}

template <class T>
std::vector<T> random_images(std::size_t n, std::mt19937& rng) {
    std::normal_distribution<double> d(0, 1);
    std::vector<T> x(n);
    for (T& v : x)
        v = T(d(rng));
    return x;
}

/// Image n of a model's output (channel-major) as a vector.
template <class M>
std::vector<double> output_of(M& m, std::size_t n) {
    const auto y = m.program().kept_output(M::node_count - 2); // the logits, before the loss
    const std::size_t C = y.size() / m.batch();
    std::vector<double> out(C);
    for (std::size_t c = 0; c < C; ++c)
        out[c] = double(y[c * m.batch() + n]);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_network_map_is_the_output_and_its_jacobian) {
    constexpr std::size_t D = 2 * 8 * 8, samples = 4;
    std::mt19937 rng(12);
    // One model forwards the samples; another, of batch 2D, every sample's ±h copies at once.
    model<Net, fuse::all_t, double> m(net, samples, {.seed = 6});
    model<Net, fuse::all_t, double> fd(net, 2 * D, {.seed = 6});
    randomise_batch_norm(m, rng);
    std::copy(m.program().state().begin(), m.program().state().end(), fd.program().state().begin());
    std::copy(m.parameters().begin(), m.parameters().end(), fd.parameters().begin());
    for (auto* x : {&m, &fd}) {
        x->set_mode(mode::evaluation);
        x->program().record_codes();
    }
    const auto images = random_images<double>(D * samples, rng);
    m.forward(images);
    const double h = 1e-6;
    std::size_t checked = 0;
    for (std::size_t n = 0; n < samples; ++n) {
        const inspect::affine_map A = inspect::network_map(m, n);
        BOOST_TEST(A.rows == 3u);
        BOOST_TEST(A.cols == D);
        const std::vector<double> x(images.begin() + n * D, images.begin() + (n + 1) * D);
        const auto y = output_of(m, n), Ax = A.apply(x);
        for (std::size_t c = 0; c < 3; ++c)
            MASO_CHECK_CLOSE(Ax[c], y[c], 1e-12, 1e-12);
        // Central differences, every input coordinate at once.
        std::vector<double> copies(2 * D * D);
        for (std::size_t i = 0; i < D; ++i)
            for (int s = 0; s < 2; ++s) {
                std::copy(x.begin(), x.end(), copies.begin() + (2 * i + s) * D);
                copies[(2 * i + s) * D + i] += s == 0 ? h : -h;
            }
        fd.forward(copies);
        const std::uint64_t cell = inspect::network_cell(m.program().codes(), n);
        bool same_cell = true;
        for (std::size_t k = 0; k < 2 * D; ++k)
            same_cell = same_cell && inspect::network_cell(fd.program().codes(), k) == cell;
        if (!same_cell) continue; // a perturbed copy crossed a boundary: no derivative there
        ++checked;
        // Central differences are exact on a cell up to rounding, ε·|f|/h: relative to the
        // largest entry for the entries that nearly vanish.
        double largest = 0;
        for (const double a : A.A)
            largest = std::max(largest, std::abs(a));
        for (std::size_t i = 0; i < D; ++i) {
            const auto up = output_of(fd, 2 * i), down = output_of(fd, 2 * i + 1);
            for (std::size_t c = 0; c < 3; ++c)
                MASO_CHECK_CLOSE(A.a(c, i), (up[c] - down[c]) / (2 * h), 1e-6, largest);
        }
    }
    BOOST_TEST(checked >= 2u);
}

BOOST_AUTO_TEST_CASE(layer_maps_send_inputs_to_outputs_and_compose) {
    constexpr std::size_t N = 3;
    std::mt19937 rng(5);
    model<Net, fuse::all_t, double> m(net, N, {.seed = 2});
    randomise_batch_norm(m, rng);
    m.set_mode(mode::evaluation);
    m.program().record_codes();
    const auto images = random_images<double>(2 * 64 * N, rng);
    m.forward(images);
    using P = decltype(m)::program_type;
    for (std::size_t n = 0; n < N; ++n) {
        const auto layers = inspect::layer_maps(m, n);
        BOOST_TEST(layers.size() == P::groups.size() - 1); // the loss is left out
        // Layer k: from the kept output of the node before it to its own kept output.
        std::size_t k = 0;
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (
                [&] {
                    constexpr auto g = P::groups[K];
                    if constexpr (g.end < P::node_count) {
                        const auto in = m.program().kept_output(g.begin - 1);
                        const auto out = m.program().kept_output(g.end - 1);
                        const std::size_t Dout = out.size() / N;
                        using I = typename P::template out_shape<g.begin - 1>;
                        std::vector<double> x(I::size);
                        for (std::size_t i = 0; i < I::size; ++i) // one image, channel by channel
                            x[i] = g.begin == 1 ? images[n * I::size + i] // stored padded: given
                                                : in[(i / I::plane) * N * I::plane + n * I::plane +
                                                     i % I::plane];
                        const auto y = layers[k].apply(x);
                        using O = typename P::template out_shape<g.end - 1>;
                        for (std::size_t j = 0; j < Dout; ++j)
                            MASO_CHECK_CLOSE(y[j],
                                             double(out[(j / O::plane) * N * O::plane +
                                                        n * O::plane + j % O::plane]),
                                             1e-12, 1e-12);
                        ++k;
                    }
                }(),
                ...);
        }
        (std::make_index_sequence<P::groups.size()>{});
        // The layers' maps compose to the network's.
        inspect::affine_map c = layers.front();
        for (std::size_t l = 1; l < layers.size(); ++l) {
            const auto& L = layers[l];
            inspect::affine_map next{L.rows, c.cols, std::vector<double>(L.rows * c.cols, 0.0),
                                     L.b};
            for (std::size_t r = 0; r < L.rows; ++r)
                for (std::size_t j = 0; j < L.cols; ++j) {
                    next.b[r] += L.a(r, j) * c.b[j];
                    for (std::size_t i = 0; i < c.cols; ++i)
                        next.a(r, i) += L.a(r, j) * c.a(j, i);
                }
            c = std::move(next);
        }
        const auto whole = inspect::network_map(m, n);
        for (std::size_t i = 0; i < whole.A.size(); ++i)
            MASO_CHECK_CLOSE(c.A[i], whole.A[i], 1e-12, 1e-12);
        for (std::size_t r = 0; r < whole.rows; ++r)
            MASO_CHECK_CLOSE(c.b[r], whole.b[r], 1e-12, 1e-12);
    }
}

namespace {
/// After a forward of x in evaluation mode with codes recorded, each image's network map
/// (matrix t) sends the image to the model's output.
template <class M>
void expect_maps_give_the_output(M& m, const std::vector<double>& x, inspect::vq_matrix t) {
    using S = typename M::input_shape;
    using Out = typename M::output_shape;
    const std::size_t B = m.batch();
    m.forward(x);
    for (std::size_t n = 0; n < B; ++n) {
        const auto A = inspect::network_map(m, n, t);
        const auto y =
            A.apply(std::vector<double>(x.begin() + S::size * n, x.begin() + S::size * (n + 1)));
        for (std::size_t c = 0; c < Out::size; ++c)
            MASO_CHECK_CLOSE(y[c], double(m.output().data[c * B + n]), 1e-12, 1e-12);
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(posteriors_give_a_soft_networks_output) {
    const auto soft = input<5>() >> dense<8>() >> beta_vq<relu>(0.7f) >> dense<6>() >>
                      beta_vq<vq::two_knot>(0.4f) >> dense<2>();
    using S = std::decay_t<decltype(soft)>;
    model<S, fuse::all_t, double> m(soft, 4, {.seed = 1});
    m.set_mode(mode::evaluation);
    m.program().record_codes(true, true);
    std::mt19937 rng(2);
    const auto x = random_images<double>(5 * 4, rng);
    m.forward(x);
    for (std::size_t n = 0; n < 4; ++n) {
        const auto A = inspect::network_map(m, n, inspect::vq_matrix::posterior);
        const auto y = A.apply(std::vector<double>(x.begin() + 5 * n, x.begin() + 5 * n + 5));
        for (std::size_t c = 0; c < 2; ++c)
            MASO_CHECK_CLOSE(y[c], double(m.output().data[c * 4 + n]), 1e-12, 1e-12);
        // The hard matrix gives another map: the β-VQ output is not on its region's piece.
        const auto H = inspect::network_map(m, n);
        BOOST_TEST(H.A != A.A);
    }
    // A β-VQ window (softpool) takes the posterior mean of its members, which is its output.
    const auto pooled = input<2, 6, 6>() >> conv2d<3, 3, 1, padding::same>() >>
                        beta_vq<relu>(0.7f) >> softpool<2>(0.6f) >> flatten() >> dense<2>();
    using Q = std::decay_t<decltype(pooled)>;
    model<Q, fuse::all_t, double> q(pooled, 3, {.seed = 5});
    q.set_mode(mode::evaluation);
    q.program().record_codes(true, true);
    expect_maps_give_the_output(q, random_images<double>(72 * 3, rng),
                                inspect::vq_matrix::posterior);
    // So do a β-VQ maxout (on the tiles' rows after dense, in the channel-window pass after a
    // convolution and its units) and a β-VQ global pooling (the plane pass).
    const auto outs = input<2, 4, 4>() >> conv2d<6, 3, 1, padding::same>() >> beta_vq<relu>(0.6f) >>
                      maxout<3>(0.7f) >> global_softpool(0.5f) >> dense<6>() >>
                      maxout<2>(learnable_per_channel(0.8f)) >> dense<2>();
    using O = std::decay_t<decltype(outs)>;
    model<O, fuse::all_t, double> o(outs, 3, {.seed = 6});
    o.set_mode(mode::evaluation);
    o.program().record_codes(true, true);
    expect_maps_give_the_output(o, random_images<double>(32 * 3, rng),
                                inspect::vq_matrix::posterior);
}

BOOST_AUTO_TEST_CASE(global_max_pooling_takes_each_planes_chosen_member) {
    const auto pooled = input<2, 4, 4>() >> conv2d<3, 3, 1, padding::same>() >> hard_vq<relu>() >>
                        global_softpool(1.f) >> dense<2>();
    using Q = std::decay_t<decltype(pooled)>;
    model<Q, fuse::all_t, double> q(pooled, 3, {.seed = 8});
    q.set_mode(mode::evaluation);
    q.program().record_codes();
    std::mt19937 rng(4);
    expect_maps_give_the_output(q, random_images<double>(32 * 3, rng), inspect::vq_matrix::hard);
}

BOOST_AUTO_TEST_CASE(a_float_model_matches_to_float_rounding) {
    std::mt19937 rng(9);
    model<Net> m(net, 2, {.seed = 4});
    randomise_batch_norm(m, rng);
    m.set_mode(mode::evaluation);
    m.program().record_codes();
    const auto x = random_images<float>(128 * 2, rng);
    m.forward(x);
    for (std::size_t n = 0; n < 2; ++n) {
        const auto A = inspect::network_map(m, n);
        const auto y = A.apply(std::vector<double>(x.begin() + 128 * n, x.begin() + 128 * (n + 1)));
        const auto want = output_of(m, n);
        for (std::size_t c = 0; c < 3; ++c)
            MASO_CHECK_CLOSE(y[c], want[c], 1e-4, 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(what_has_no_map_is_refused) {
    model<Net, fuse::all_t, double> m(net, 2);
    std::vector<double> x(2 * 128, 0.1);
    m.forward(x);
    BOOST_CHECK_THROW(inspect::network_map(m, 0), value_error); // no codes recorded
    m.program().record_codes();
    m.forward(x);
    BOOST_CHECK_THROW(inspect::network_map(m, 0), value_error); // training mode
    m.set_mode(mode::evaluation);
    m.forward(x);
    BOOST_CHECK_THROW(inspect::network_map(m, 2), value_error); // outside the batch
    BOOST_CHECK_NO_THROW(inspect::network_map(m, 1));
    const auto soft = input<2, 4, 4>() >> softpool<2>(0.6f) >> flatten() >> dense<2>();
    model<std::decay_t<decltype(soft)>, fuse::all_t, double> s(soft, 1);
    s.set_mode(mode::evaluation);
    s.program().record_codes(); // the window's posteriors are not recorded
    s.forward(std::vector<double>(32, 0.3));
    BOOST_CHECK_THROW(inspect::network_map(s, 0, inspect::vq_matrix::posterior), value_error);
    s.program().record_codes(true, true);
    s.forward(std::vector<double>(32, 0.3));
    BOOST_CHECK_NO_THROW(inspect::network_map(s, 0, inspect::vq_matrix::posterior));
}
