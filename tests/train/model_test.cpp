// Tests of include/maso/train/model.hpp: instantiate, forward, backward, access,
// fused == unfused, no allocation after instantiation.
#define BOOST_TEST_MODULE train.model
#include <maso/maso.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>

using namespace maso;

const auto mlp = input<6>() >> dense<5>() >> beta_vq<relu>(learnable(0.7f)) >> dense<4>() >>
                 beta_vq<absolute>(learnable_per_channel(0.4f)) >> dense<3>() >> hard_vq<relu>();

BOOST_AUTO_TEST_CASE(fused_equals_unfused) {
    auto a = instantiate(mlp, 3, fuse::all, {.seed = 11});
    auto b = instantiate(mlp, 3, fuse::none, {.seed = 11});
    BOOST_REQUIRE_EQUAL(a.parameters().size(), b.parameters().size());
    const auto x = maso_test::uniform_vector<float>(6 * 3, -2, 2);
    const auto dy = maso_test::uniform_vector<float>(3 * 3, -1, 1);
    a.forward(x);
    b.forward(x);
    std::vector<float> ya(9), yb(9);
    a.output(ya);
    b.output(yb);
    for (std::size_t i = 0; i < 9; ++i)
        MASO_CHECK_CLOSE(ya[i], yb[i], 1e-5, 1e-5);
    a.backward(dy);
    b.backward(dy);
    for (std::size_t i = 0; i < a.gradients().size(); ++i)
        MASO_CHECK_CLOSE(a.gradients()[i], b.gradients()[i], 1e-5, 1e-5);
}

BOOST_AUTO_TEST_CASE(no_allocation_in_forward_or_backward) {
    auto m = instantiate(mlp, 4);
    const auto x = maso_test::uniform_vector<float>(6 * 4, -2, 2);
    const auto dy = maso_test::uniform_vector<float>(3 * 4, -1, 1);
    const long before = maso_test::allocations(); // from the very first forward on
    for (int k = 0; k < 3; ++k) {
        m.forward(x);
        m.backward(dy);
    }
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
}

BOOST_AUTO_TEST_CASE(no_allocation_in_a_cnn_of_every_kind) {
    const auto cnn = input<3, 8, 8>() >> conv2d<4, 3>() >> beta_vq<relu>(learnable(0.5f)) >>
                     softpool<2>(learnable(0.5f)) >> conv2d<4, 3, 2, padding::same, false>() >>
                     batch_norm() >> soft_vq<absolute>() >> maxout<2>() >> flatten() >>
                     dense<6>() >> sigmoid() >> dense<3>() >> softmax_cross_entropy();
    for (int fused = 0; fused < 2; ++fused) {
        auto run = [&](auto m) {
            m.enable_input_gradient();
            const auto x = maso_test::uniform_vector<float>(3 * 64 * 2, -1, 1);
            const std::vector<int> labels{0, 2};
            const long before = maso_test::allocations(); // from the very first forward on
            for (int k = 0; k < 3; ++k) {
                m.zero_gradients();
                m.forward(x, labels);
                m.backward();
            }
            BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
        };
        if (fused)
            run(instantiate(cnn, 2));
        else
            run(instantiate(cnn, 2, fuse::none));
    }
}

namespace {

/// A one-layer network's model against its layer run on x made channel-major here:
/// the input as the model stores it (load_input) must give the same output, parameter
/// and input gradients, whatever layout the layer asked for. Unfused, the model runs
/// the layer's own forward and backward, so every figure is bitwise the same (fused,
/// the bias gradient is summed in another order; lower_test checks fused == unfused).
template <class Net>
void expect_model_reads_the_images(const Net& net, std::size_t batch) {
    auto m = instantiate(net, batch, fuse::none, {.seed = 3});
    using M = decltype(m);
    using In = typename M::input_shape;
    using Out = typename M::output_shape;
    constexpr std::size_t C = In::channels, P = In::plane, K = Out::channels, Q = Out::plane;
    const auto images = maso_test::uniform_vector<float>(In::size * batch, -2, 2);
    const auto dy = maso_test::uniform_vector<float>(Out::size * batch, -1, 1);
    m.enable_input_gradient();
    m.forward(images);
    m.backward(dy);
    std::vector<float> y(Out::size * batch);
    m.output(y);

    std::vector<float> x(images.size()), g(dy.size()), z(dy.size()), grads(m.gradients().size()),
        dx(images.size());
    for (std::size_t n = 0; n < batch; ++n) {
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t p = 0; p < P; ++p)
                x[(c * batch + n) * P + p] = images[(n * C + c) * P + p];
        for (std::size_t k = 0; k < K; ++k)
            for (std::size_t q = 0; q < Q; ++q)
                g[(k * batch + n) * Q + q] = dy[(n * K + k) * Q + q];
    }
    using node = type_at_t<1, plan::flatten_t<Net>>;
    const typename node::template layer<In, float> layer(maso::get<1>(net.nodes));
    std::vector<float> scratch(layer.scratch_size(batch) + 1);
    layer_io<In, Out, float> io;
    io.x = {x.data(), batch};
    io.y = {z.data(), batch};
    io.dy = {g.data(), batch};
    io.dx = {dx.data(), batch};
    io.params = m.parameters();
    io.grads = grads;
    io.scratch = scratch;
    layer.forward(io);
    layer.backward(io);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t k = 0; k < K; ++k)
            for (std::size_t q = 0; q < Q; ++q)
                BOOST_TEST(y[(n * K + k) * Q + q] == z[(k * batch + n) * Q + q]);
    const std::vector<float> model_grads(m.gradients().begin(), m.gradients().end());
    BOOST_TEST(model_grads == grads, boost::test_tools::per_element());
    const auto mdx = m.input_gradient();
    BOOST_TEST(std::vector<float>(mdx.data, mdx.data + mdx.size()) == dx,
               boost::test_tools::per_element());
}

} // namespace

BOOST_AUTO_TEST_CASE(the_input_is_stored_as_its_first_node_reads_it) {
    const auto padded = input<3, 7, 6>() >> conv2d<4, 3>();
    const auto strided = input<2, 8, 8>() >> conv2d<3, 5, 2, padding::same, false>();
    const auto valid = input<2, 6, 5>() >> conv2d<3, 3, 1, padding::valid>();
    const auto flat = input<37>() >> dense<9>();
    using plan::program;
    using std::decay_t;
    static_assert(program<decay_t<decltype(padded)>, fuse::all_t>::input_edge ==
                  edge_layout::padded);
    static_assert(program<decay_t<decltype(strided)>, fuse::none_t>::input_padding == 2);
    static_assert(program<decay_t<decltype(valid)>, fuse::all_t>::input_edge ==
                  edge_layout::channel_major);
    static_assert(program<decay_t<decltype(flat)>, fuse::all_t>::input_edge == edge_layout::images);
    expect_model_reads_the_images(padded, 3);
    expect_model_reads_the_images(strided, 2);
    expect_model_reads_the_images(valid, 2);
    expect_model_reads_the_images(flat, 70);
}

BOOST_AUTO_TEST_CASE(a_wrong_sized_input_is_refused_whatever_its_layout) {
    for (int k = 0; k < 3; ++k) {
        const std::vector<float> short_batch(10);
        auto expect_refused = [&](auto m) {
            BOOST_CHECK_EXCEPTION(m.forward(short_batch), size_error, [](const size_error& e) {
                return std::string(e.what()).find("the input batch") != std::string::npos;
            });
        };
        if (k == 0) expect_refused(instantiate(input<3, 4, 4>() >> conv2d<2, 3>(), 2));
        if (k == 1) expect_refused(instantiate(input<12>() >> dense<2>(), 2));
        if (k == 2) expect_refused(instantiate(input<3, 4, 4>() >> maxpool<2>(), 2));
    }
}

BOOST_AUTO_TEST_CASE(describe_shows_three_fused_kernels) {
    const std::string d = describe(mlp);
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("3 kernels") != std::string::npos);
    BOOST_CHECK(d.find("dense<5> → beta_vq<relu>") != std::string::npos);
    const std::string u = describe(mlp, fuse::none);
    BOOST_CHECK(u.find("6 kernels") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(labels_are_optional_for_prediction_and_checked_before_running) {
    const auto net =
        input<4>() >> dense<5>() >> batch_norm() >> dense<3>() >> softmax_cross_entropy();
    auto m = instantiate(net, 2);
    const auto x = maso_test::uniform_vector<float>(8, -1, 1);
    // prediction: no labels, probabilities out, no loss, no backward
    BOOST_CHECK_EQUAL(m.forward(x), 0.f);
    std::vector<float> p(6);
    m.output(p);
    MASO_CHECK_CLOSE(p[0] + p[1] + p[2], 1.0, 1e-6, 1);
    BOOST_CHECK_THROW(m.backward(), value_error);
    // a bad label is refused before any layer runs: the last output is untouched
    const std::vector<int> bad{1, 3};
    const auto x2 = maso_test::uniform_vector<float>(8, -1, 1);
    try {
        m.forward(x2, bad);
        BOOST_ERROR("label 3 of 3 classes accepted");
    } catch (const value_error& e) {
        BOOST_CHECK(std::string(e.what()).find("image 1 has label 3, outside [0, 3)") !=
                    std::string::npos);
    }
    std::vector<float> p2(6);
    m.output(p2);
    BOOST_CHECK(p2 == p);
    const std::vector<int> short_list{1};
    BOOST_CHECK_THROW(m.forward(x, short_list), size_error);
    BOOST_CHECK_THROW(m.forward(std::vector<float>(7)), size_error);
    const std::vector<int> good{0, 2};
    BOOST_CHECK_GT(m.forward(x, good), 0.f);
}
