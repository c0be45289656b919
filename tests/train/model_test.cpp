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
