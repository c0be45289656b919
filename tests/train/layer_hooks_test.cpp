// Tests of include/maso/train/layer_hooks.hpp: the layers' once-per-step hooks as the model
// runs them — the orthogonality constraints of dense and conv2d through whole networks.
// For every path: fused == unfused (double and float), every parameter and input against
// central differences of the loss in double (the loss includes λ·P), backward accumulates;
// nothing allocated after instantiate, with the kernels on the pool's threads, and bitwise the
// same results at 1 and 2 threads; a layer's
// refusal names its node; in evaluation a penalty adds nothing.
#include <maso/maso.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/expect_gradients.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace maso;
using ortho::gs_form;

// Smooth units (β < 1) so that central differences see no kink.
BOOST_AUTO_TEST_CASE(gram_schmidt_and_penalty_through_a_cnn) {
    const auto net = input<2, 6, 6>() >> conv2d<6, 3, ortho::gram_schmidt<>>() >> batch_norm() >>
                     beta_vq<relu>(learnable(0.4f)) >> softpool<2>(0.6f) >> flatten() >>
                     dense<4, ortho::penalty<>>({.lambda = 3}) >> softmax_cross_entropy();
    maso_test::expect_gradients(net);
}

BOOST_AUTO_TEST_CASE(cgs2_cholesky_qr_and_orthonormal_penalty) {
    const auto net = input<3, 5, 5>() >> conv2d<8, 3, ortho::gram_schmidt<gs_form::cgs2>, 2>() >>
                     soft_vq<relu>() >>
                     conv2d<5, 1, ortho::cholesky_qr, 1, padding::same, false>() >>
                     beta_vq<absolute>(0.3f) >> global_avgpool() >>
                     dense<3, ortho::penalty<ortho::penalty_form::orthonormal>>({.lambda = 0.5}) >>
                     softmax_cross_entropy();
    maso_test::expect_gradients(net);
}

BOOST_AUTO_TEST_CASE(dense_layers_of_every_path) {
    const auto net = input<7>() >> dense<6, ortho::cholesky_qr>() >> soft_vq<relu>() >>
                     dense<5, ortho::gram_schmidt<gs_form::cgs2>, false>() >> soft_vq<relu>() >>
                     dense<4, ortho::gram_schmidt<>>() >> beta_vq<relu>(0.7f) >>
                     dense<3, ortho::penalty<>>() >> softmax_cross_entropy();
    maso_test::expect_gradients(net, {.batch = 4});
}

// Without a loss node there is no loss to add λ·P to: the penalty counts for nothing (the
// check is on L = Σ w ⊙ output), while a reparametrisation still applies.
BOOST_AUTO_TEST_CASE(without_a_loss_a_penalty_counts_for_nothing) {
    const auto net = input<5>() >> dense<4, ortho::penalty<>>({.lambda = 5}) >> soft_vq<relu>() >>
                     dense<3, ortho::gram_schmidt<>>();
    maso_test::expect_gradients(net);
}

// Layers large enough that the kernels split their work over the pool (ortho/detail/rows.hpp:
// from 2^17 multiply-adds): fused == unfused in float, and no allocation from the first forward.
BOOST_AUTO_TEST_CASE(no_allocation_after_instantiate) {
    maso_test::thread_count_guard guard;
    set_num_threads(2);
    const auto net = input<16, 8, 8>() >> conv2d<96, 3, ortho::gram_schmidt<>>() >>
                     beta_vq<relu>(0.5f) >> maxpool<2>() >>
                     conv2d<128, 3, ortho::cholesky_qr, 1, padding::same, false>() >>
                     batch_norm() >> beta_vq<relu>(learnable(0.5f)) >>
                     conv2d<64, 3, ortho::penalty<>>() >> beta_vq<relu>(0.5f) >> global_avgpool() >>
                     dense<48, ortho::gram_schmidt<gs_form::cgs2>>() >> soft_vq<relu>() >>
                     dense<10>() >> softmax_cross_entropy();
    constexpr std::size_t batch = 4;
    const auto x = maso_test::uniform_vector<float>(16 * 64 * batch, -1, 1);
    const std::vector<int> labels{0, 3, 7, 9};
    auto a = instantiate(net, batch, fuse::all, {.seed = 2});
    auto b = instantiate(net, batch, fuse::none, {.seed = 2});
    const long before = maso_test::allocations(); // from the very first forward on
    float la = 0, lb = 0;
    for (int k = 0; k < 2; ++k) {
        a.zero_gradients();
        b.zero_gradients();
        la = a.forward(x, labels);
        lb = b.forward(x, labels);
        a.backward();
        b.backward();
    }
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
    MASO_CHECK_CLOSE(la, lb, 1e-5, 1e-6);
    double gmax = 0;
    for (float g : b.gradients())
        gmax = std::max(gmax, double(std::fabs(g)));
    for (std::size_t i = 0; i < a.gradients().size(); ++i)
        MASO_CHECK_CLOSE(a.gradients()[i], b.gradients()[i], 1e-4, 1e-2 * gmax); // 1e-6·gmax
}

// The hooks' kernels split their work over the pool without summing across threads: a model
// gives bitwise the same loss and gradients at 1 and 2 threads.
BOOST_AUTO_TEST_CASE(bitwise_the_same_at_any_thread_count) {
    maso_test::thread_count_guard guard;
    const auto net = input<8, 6, 6>() >> conv2d<64, 3, ortho::gram_schmidt<>>() >>
                     soft_vq<relu>() >> conv2d<72, 3, ortho::cholesky_qr, 2>() >> soft_vq<relu>() >>
                     conv2d<32, 3, ortho::penalty<>>() >> global_avgpool() >>
                     dense<24, ortho::gram_schmidt<gs_form::cgs2>>() >> soft_vq<relu>() >>
                     dense<5>() >> softmax_cross_entropy();
    const auto x = maso_test::uniform_vector<float>(8 * 36 * 3, -1, 1);
    const std::vector<int> labels{0, 4, 2};
    auto run = [&](std::size_t threads) {
        set_num_threads(threads);
        auto m = instantiate(net, 3, fuse::all, {.seed = 4});
        const float loss = m.forward(x, labels);
        m.backward();
        std::vector<float> g(m.gradients().begin(), m.gradients().end());
        g.push_back(loss);
        return g;
    };
    const auto one = run(1), two = run(2);
    BOOST_TEST(one == two);
}

// The penalty is part of the loss in training (forward returns CE + λ·P), not in evaluation;
// the metrics give P.
BOOST_AUTO_TEST_CASE(the_penalty_is_in_the_training_loss_only) {
    const auto net = input<6>() >> dense<5, ortho::penalty<>>({.lambda = 2}) >> soft_vq<relu>() >>
                     dense<3>() >> softmax_cross_entropy();
    auto m = instantiate<double>(net, 2);
    const std::vector<double> x{0.1, -0.4, 0.7, 0.2, -0.9, 0.5, 1.0, 0.3, -0.2, 0.8, 0.0, -0.6};
    const std::vector<int> labels{1, 2};
    const double train = m.forward(x, labels);
    m.set_mode(mode::evaluation);
    const double eval = m.forward(x, labels);
    const auto r = orthogonality_metrics(m);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].lambda == 2.0);
    BOOST_TEST(r[0].penalty > 0);
    MASO_CHECK_CLOSE(train - eval, 2 * r[0].penalty, 1e-12, 1e-12);
    // λ set at run time, per layer
    m.program().layer<1>().constraint().set_lambda(0.5);
    m.set_mode(mode::training);
    MASO_CHECK_CLOSE(m.forward(x, labels) - eval, 0.5 * r[0].penalty, 1e-12, 1e-12);
    BOOST_CHECK_THROW(m.program().layer<1>().constraint().set_lambda(-1), value_error);
    BOOST_CHECK_THROW(instantiate(input<6>() >> dense<5, ortho::penalty<>>({.lambda = NAN}), 1),
                      value_error);
}

// A weight Gram–Schmidt cannot orthogonalise, or a non-finite one: numeric_error naming the
// node, before anything runs; backward is refused until a forward succeeds.
BOOST_AUTO_TEST_CASE(refusals_name_the_node) {
    const auto net = input<4>() >> dense<3>() >> soft_vq<relu>() >>
                     dense<3, ortho::gram_schmidt<>>() >> softmax_cross_entropy();
    auto m = instantiate(net, 1);
    const std::vector<float> x{0.5f, -0.5f, 1.f, 0.f};
    const std::vector<int> label{2};
    BOOST_REQUIRE(std::isfinite(m.forward(x, label)));
    const auto w = m.parameters<3>();
    std::copy(w.begin(), w.begin() + 3, w.begin() + 3); // row 1 = row 0
    try {
        m.forward(x, label);
        BOOST_FAIL("expected numeric_error");
    } catch (const numeric_error& e) {
        BOOST_TEST(std::string(e.what()).rfind("maso: node 3 (dense<3, "
                                               "ortho::gram_schmidt<classical>>): row 1 of the "
                                               "weight is a linear combination",
                                               0) == 0,
                   e.what());
    }
    BOOST_CHECK_THROW(m.backward(), value_error);
    w[4] = std::numeric_limits<float>::infinity();
    try {
        m.forward(x, label);
        BOOST_FAIL("expected numeric_error");
    } catch (const numeric_error& e) {
        BOOST_TEST(std::string(e.what()) ==
                       "maso: node 3 (dense<3, ortho::gram_schmidt<classical>>): the weight has "
                       "a non-finite value (inf) at row 1, column 1",
                   e.what());
    }
}
