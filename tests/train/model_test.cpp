// Tests of include/maso/train/model.hpp: instantiate, forward, backward, access,
// fused == unfused, no allocation after instantiation.
#include <maso/maso.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

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
/// the bias gradient is summed in another order; run/program_test checks fused == unfused).
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
    using run::program;
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

// ---- the model owns what backward needs -------------------------------------------------

BOOST_AUTO_TEST_CASE(labels_are_copied_at_forward) {
    const auto net = input<4>() >> dense<3>() >> softmax_cross_entropy();
    const auto x = maso_test::uniform_vector<float>(16, -1, 1);
    const std::vector<int> labels{0, 1, 2, 1};
    auto reference = instantiate(net, 4, fuse::all, {.seed = 2});
    reference.forward(x, labels);
    reference.backward();
    const std::vector<float> expected(reference.gradients().begin(), reference.gradients().end());
    // A temporary list, gone before backward() (read after free under ASan once).
    auto a = instantiate(net, 4, fuse::all, {.seed = 2});
    a.forward(x, std::vector<int>{0, 1, 2, 1});
    a.backward();
    BOOST_TEST(std::vector<float>(a.gradients().begin(), a.gradients().end()) == expected,
               boost::test_tools::per_element());
    // A loader's loop refills its buffer between forward and backward: the gradients are
    // still those of the labels the forward saw.
    auto b = instantiate(net, 4, fuse::none, {.seed = 2});
    std::vector<int> buffer = labels;
    b.forward(x, buffer);
    buffer = {2, 2, 0, 0};
    b.backward();
    for (std::size_t i = 0; i < expected.size(); ++i)
        MASO_CHECK_CLOSE(b.gradients()[i], expected[i], 1e-6, 1e-6);
}

BOOST_AUTO_TEST_CASE(backward_needs_a_successful_forward) {
    const auto net = input<4>() >> dense<3>() >> softmax_cross_entropy();
    auto m = instantiate(net, 2);
    const auto message = [&](auto&& f) -> std::string {
        try {
            f();
        } catch (const value_error& e) {
            return e.what();
        }
        return "";
    };
    BOOST_CHECK_EQUAL(message([&] { m.backward(); }),
                      "maso: backward() needs a successful forward() first");
    const auto x = maso_test::uniform_vector<float>(8, -1, 1);
    m.forward(x);
    BOOST_CHECK_EQUAL(message([&] { m.backward(); }),
                      "maso: backward() needs the labels of the last forward()");
    m.forward(x, std::vector<int>{1, 2});
    BOOST_CHECK_EQUAL(message([&] { m.backward(); }), "");
    // A forward refused before it runs changes nothing: backward is still the last one's.
    std::vector<float> bad = x;
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    BOOST_CHECK_THROW(m.forward(bad, std::vector<int>{1, 2}), value_error);
    BOOST_CHECK_EQUAL(message([&] { m.backward(); }), "");
    // One that failed while running leaves nothing to go back through.
    m.parameters<1>()[0] = std::numeric_limits<float>::infinity();
    m.parameters<1>()[4] = -std::numeric_limits<float>::infinity();
    BOOST_CHECK_THROW(m.forward(x, std::vector<int>{1, 2}), numeric_error);
    BOOST_CHECK_EQUAL(message([&] { m.backward(); }),
                      "maso: backward() needs a successful forward() first");
}

// ---- sizes ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_impossible_batch_is_a_value_error) {
    const auto net = input<64>() >> dense<64>();
    // 2⁵⁸ · 64 wraps to 0 in a std::size_t; SIZE_MAX / 16 overflowed a vector's size; 2⁴⁰
    // images of 64 values fit a std::size_t but no address space.
    for (const std::size_t batch :
         {std::size_t{1} << 58, std::numeric_limits<std::size_t>::max() / 16,
          std::numeric_limits<std::size_t>::max(), std::size_t{1} << 40})
        BOOST_TEST_CONTEXT("batch " << batch) {
            BOOST_CHECK_EXCEPTION(instantiate(net, batch), value_error, [&](const value_error& e) {
                return std::string(e.what()).find(std::to_string(batch)) != std::string::npos;
            });
        }
    const auto cnn = input<3, 32, 32>() >> conv2d<96, 3>() >> maxpool<2>();
    BOOST_CHECK_THROW(instantiate(cnn, std::size_t{1} << 50, fuse::none), value_error);
}

// ---- non-finite values ------------------------------------------------------------------

namespace {
const auto bn_net = input<2, 4, 4>() >> conv2d<3, 3>() >>
                    batch_norm() >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>() >>
                    flatten() >> dense<3>() >> softmax_cross_entropy();

template <class Model>
std::vector<float> running_statistics(Model& m) {
    std::vector<float> s;
    for (const auto& p : m.state_dict())
        if (!is_trainable(p.kind)) s.insert(s.end(), p.value.begin(), p.value.end());
    return s;
}
} // namespace

BOOST_AUTO_TEST_CASE(a_non_finite_pixel_is_refused_before_anything_runs) {
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()}) {
        auto m = instantiate(bn_net, 3);
        const auto x = maso_test::uniform_vector<float>(32 * 3, -1, 1);
        const std::vector<int> labels{0, 1, 2};
        m.forward(x, labels);
        const auto stats = running_statistics(m);
        std::vector<float> y(9), y2(9);
        m.output(y);
        auto poisoned = x;
        poisoned[32 + 17] = bad; // image 1, offset 17
        BOOST_CHECK_EXCEPTION(m.forward(poisoned, labels), value_error, [](const value_error& e) {
            return std::string(e.what()).find("non-finite value") != std::string::npos &&
                   std::string(e.what()).find("image 1 at offset 17") != std::string::npos;
        });
        BOOST_TEST(running_statistics(m) == stats, boost::test_tools::per_element());
        m.output(y2);
        BOOST_TEST(y2 == y, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(overflowing_batch_statistics_leave_the_running_ones) {
    // 1e30 is finite, but its square is not: the batch variance overflows. Before, that
    // was silent, and the running variance stayed infinite for every later evaluation.
    for (int fused = 0; fused < 2; ++fused) {
        auto run = [&](auto m) {
            const auto x = maso_test::uniform_vector<float>(32 * 3, -1, 1);
            const std::vector<int> labels{0, 1, 2};
            m.forward(x, labels);
            const auto stats = running_statistics(m);
            auto huge = x;
            huge[5] = 1e30f;
            BOOST_CHECK_EXCEPTION(m.forward(huge, labels), numeric_error,
                                  [](const numeric_error& e) {
                                      const std::string w = e.what();
                                      return w.find("node 2 (batch_norm") != std::string::npos &&
                                             w.find("batch variance is inf") != std::string::npos &&
                                             w.find("left unchanged") != std::string::npos;
                                  });
            BOOST_TEST(running_statistics(m) == stats, boost::test_tools::per_element());
            m.set_mode(mode::evaluation);
            BOOST_CHECK(std::isfinite(m.forward(x, labels)));
        };
        if (fused)
            run(instantiate(bn_net, 3));
        else
            run(instantiate(bn_net, 3, fuse::none));
    }
}

BOOST_AUTO_TEST_CASE(a_nan_theta_is_refused_naming_its_node) {
    auto m = instantiate(bn_net, 2);
    const auto x = maso_test::uniform_vector<float>(64, -1, 1);
    m.parameters<3>()[0] = std::numeric_limits<float>::quiet_NaN();
    BOOST_CHECK_EXCEPTION(m.forward(x, std::vector<int>{0, 1}), numeric_error,
                          [](const numeric_error& e) {
                              return std::string(e.what()) ==
                                     "maso: node 3 (beta_vq<relu>(β = 0.5, learnable)): theta[0] "
                                     "is nan";
                          });
    m.parameters<3>()[0] = std::numeric_limits<float>::infinity(); // β = 1: the hard path
    BOOST_CHECK(std::isfinite(m.forward(x, std::vector<int>{0, 1})));
}

BOOST_AUTO_TEST_CASE(a_non_finite_loss_names_the_first_node_it_came_from) {
    for (int fused = 0; fused < 2; ++fused) {
        auto run = [&](auto m, const std::string& node) {
            const auto x = maso_test::uniform_vector<float>(64, -1, 1);
            m.template parameters<6>()[4] =
                std::numeric_limits<float>::quiet_NaN(); // a dense weight
            BOOST_CHECK_EXCEPTION(m.forward(x, std::vector<int>{0, 1}), numeric_error,
                                  [&](const numeric_error& e) {
                                      const std::string w = e.what();
                                      BOOST_TEST_MESSAGE(w);
                                      return w.find("the loss is nan") != std::string::npos &&
                                             w.find(node) != std::string::npos;
                                  });
            BOOST_CHECK_THROW(m.backward(), value_error);
        };
        // Unfused, node 6's output is kept; fused, dense<3> is a kernel of its own too.
        if (fused)
            run(instantiate(bn_net, 2), "output of node 6 (dense<3>)");
        else
            run(instantiate(bn_net, 2, fuse::none), "output of node 6 (dense<3>)");
    }
    // Without a loss, the output is checked.
    auto m = instantiate(input<3>() >> dense<2>(), 2);
    m.parameters<1>()[0] = std::numeric_limits<float>::infinity();
    const std::vector<float> x{1, 0, 0, 0, 1, 0};
    BOOST_CHECK_THROW(m.forward(x), numeric_error);
    std::vector<float> dy(4, 1.f);
    dy[1] = std::numeric_limits<float>::quiet_NaN();
    m.parameters<1>()[0] = 0.5f;
    m.forward(x);
    BOOST_CHECK_THROW(m.backward(dy), value_error);
}

// ---- the model's tensors by name ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(state_dict_names_kinds_shapes_and_spans) {
    auto m = instantiate(bn_net, 2);
    const auto d = m.state_dict();
    struct expected {
        const char* name;
        parameter_kind kind;
        std::vector<std::size_t> shape;
    };
    const std::vector<expected> want{
        {"1.conv2d.weight", parameter_kind::weight, {3, 2, 3, 3}},
        {"1.conv2d.bias", parameter_kind::bias, {3}},
        {"2.batch_norm.weight", parameter_kind::scale, {3}},
        {"2.batch_norm.bias", parameter_kind::shift, {3}},
        {"2.batch_norm.running_mean", parameter_kind::running_mean, {3}},
        {"2.batch_norm.running_var", parameter_kind::running_var, {3}},
        {"3.beta_vq.theta", parameter_kind::beta, {1}},
        {"6.dense.weight", parameter_kind::weight, {3, 12}},
        {"6.dense.bias", parameter_kind::bias, {3}},
    };
    BOOST_REQUIRE_EQUAL(d.size(), want.size());
    std::size_t trainable = 0;
    for (std::size_t i = 0; i < d.size(); ++i)
        BOOST_TEST_CONTEXT(want[i].name) {
            BOOST_CHECK_EQUAL(d[i].name, want[i].name);
            BOOST_CHECK(d[i].kind == want[i].kind);
            BOOST_TEST(d[i].shape == want[i].shape, boost::test_tools::per_element());
            std::size_t n = 1;
            for (std::size_t e : d[i].shape)
                n *= e;
            BOOST_CHECK_EQUAL(d[i].value.size(), n);
            BOOST_CHECK_EQUAL(d[i].gradient.size(), is_trainable(d[i].kind) ? n : 0);
            if (is_trainable(d[i].kind)) trainable += n;
        }
    // The trainable tensors tile the parameter buffer, in order.
    BOOST_CHECK_EQUAL(trainable, m.parameters().size());
    BOOST_CHECK(d[0].value.data() == m.parameters().data());
    BOOST_CHECK(d[0].gradient.data() == m.gradients().data());
    // Running statistics start at (0, 1) and are stored so.
    for (std::size_t c = 0; c < 3; ++c) {
        BOOST_CHECK_EQUAL(d[4].value[c], 0.f);
        BOOST_CHECK_EQUAL(d[5].value[c], 1.f);
    }
}

BOOST_AUTO_TEST_CASE(running_statistics_set_through_the_state_dict_are_used) {
    // In evaluation y = γ(x − μ)/√(σ² + ε) + β: set μ and σ² and read the output.
    const auto net = input<2>() >> batch_norm(0.1f, 1e-5f);
    auto m = instantiate(net, 1);
    m.set_mode(mode::evaluation);
    auto d = m.state_dict();
    d[2].value[0] = 3.f; // running_mean of channel 0
    d[3].value[1] = 4.f; // running_var of channel 1
    m.forward(std::vector<float>{5.f, 2.f});
    const auto y = m.output();
    MASO_CHECK_CLOSE(y.data[0], 2.0 / std::sqrt(1 + 1e-5), 1e-6, 0);
    MASO_CHECK_CLOSE(y.data[1], 2.0 / std::sqrt(4 + 1e-5), 1e-6, 0);
}

BOOST_AUTO_TEST_CASE(double_models_and_input_gradients_as_images) {
    const auto net =
        input<2, 3, 3>() >> conv2d<2, 3>() >> soft_vq<relu>() >> flatten() >> dense<2>();
    auto d = instantiate<double>(net, 2, fuse::all, {.seed = 4});
    auto f = instantiate(net, 2, fuse::all, {.seed = 4});
    static_assert(std::is_same_v<decltype(d)::value_type, double>);
    const auto x = maso_test::uniform_vector<double>(36, -1, 1);
    const std::vector<float> xf(x.begin(), x.end());
    const std::vector<double> dy{0.5, -1, 2, 0.25};
    d.enable_input_gradient();
    f.enable_input_gradient();
    d.forward(x);
    d.backward(dy);
    f.forward(xf);
    f.backward(std::vector<float>(dy.begin(), dy.end()));
    std::vector<double> gd(36);
    std::vector<float> gf(36);
    d.input_gradient(gd);
    f.input_gradient(gf);
    // [N][C][H][W]: element (n, c, p) of the images is (c, n, p) channel-major.
    const auto cm = d.input_gradient();
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t p = 0; p < 9; ++p) {
                BOOST_CHECK_EQUAL(gd[(n * 2 + c) * 9 + p], cm.data[(c * 2 + n) * 9 + p]);
                MASO_CHECK_CLOSE(gf[(n * 2 + c) * 9 + p], gd[(n * 2 + c) * 9 + p], 1e-5, 1e-3);
            }
}

BOOST_AUTO_TEST_CASE(signature_lists_nodes_and_shapes) {
    auto m = instantiate(input<3>() >> dense<2>() >> hard_vq<relu>(), 1);
    BOOST_CHECK_EQUAL(m.signature(), "0 input<3, 1, 1> [3]\n1 dense<2> [2]\n2 hard_vq<relu> [2]\n");
}
