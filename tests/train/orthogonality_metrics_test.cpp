// Tests of include/maso/train/orthogonality_metrics.hpp, and issue 14's training test: on a
// small network trained by SGD, the orthogonality defect (max |cos| between rows) falls under
// the penalty, and stays at rounding level (≤ 1e-5 in float, paper-spec §9.7) under
// Gram–Schmidt and CholeskyQR2 through a hundred steps.
#include <maso/maso.hpp>

#include <maso_test/check.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace maso;
using ortho::gs_form;

namespace {

constexpr std::size_t batch = 32, steps = 100;

template <class Tag>
auto small_net(Tag tag = {}) {
    return input<16>() >> dense<12, Tag>(tag) >> soft_vq<relu>() >> dense<4>() >>
           softmax_cross_entropy();
}

struct batch_data {
    std::vector<float> x = maso_test::uniform_vector<float>(16 * batch, -1, 1);
    std::vector<int> labels = [] {
        std::vector<int> l(batch);
        for (std::size_t n = 0; n < batch; ++n)
            l[n] = int((n * 5 + 1) % 4);
        return l;
    }();
};

/// The defect of node 1 (the metric's; W's without a constraint).
template <class Model>
double defect(Model& m) {
    const auto r = orthogonality_metrics(m);
    return r.empty() ? ortho::orthogonality_defect<float>(m.template parameters<1>().first(12 * 16),
                                                          12, 16)
                     : r.at(0).defect;
}

/// The defect of node 1 after every SGD step (and before the first), and the losses.
template <class Net>
std::vector<double> train_defects(const Net& net, std::vector<float>* losses = nullptr) {
    const batch_data data;
    auto m = instantiate(net, batch, fuse::all, {.seed = 3});
    sgd opt(m, {.learning_rate = 0.1f});
    std::vector<double> d{defect(m)};
    for (std::size_t s = 0; s < steps; ++s) {
        m.zero_gradients();
        const float loss = m.forward(data.x, data.labels);
        if (losses) losses->push_back(loss);
        m.backward();
        opt.step();
        d.push_back(defect(m));
    }
    return d;
}

} // namespace

BOOST_AUTO_TEST_CASE(records_name_each_constrained_layer) {
    const auto net = input<3, 4, 4>() >> conv2d<4, 3, ortho::penalty<>>({.lambda = 0.5}) >>
                     soft_vq<relu>() >> conv2d<5, 3, ortho::gram_schmidt<>>() >> soft_vq<relu>() >>
                     global_avgpool() >> dense<3>() >> softmax_cross_entropy();
    auto m = instantiate(net, 2);
    const auto r = orthogonality_metrics(m);
    BOOST_REQUIRE_EQUAL(r.size(), 2u);
    BOOST_TEST(r[0].node == 1u);
    BOOST_TEST(r[0].name == "conv2d<4, 3, stride 1, same, ortho::penalty<off_diagonal>>");
    BOOST_TEST(r[0].constraint == "ortho::penalty<off_diagonal>(λ = 0.5)");
    BOOST_TEST(r[0].lambda == 0.5);
    const auto w = m.parameters<1>().first(4 * 27);
    MASO_CHECK_CLOSE(r[0].penalty, ortho::penalty_value<float>(w, 4, 27), 1e-12, 0);
    MASO_CHECK_CLOSE(r[0].defect, ortho::orthogonality_defect<float>(w, 4, 27), 1e-12, 0);
    BOOST_TEST(r[1].node == 3u);
    BOOST_TEST(r[1].constraint == "ortho::gram_schmidt<classical>");
    BOOST_TEST(r[1].lambda == 0.0);
    BOOST_TEST(r[1].defect < 1e-5); // of V = GS(W)
    BOOST_TEST(r[1].penalty < 1e-10);
    auto plain = instantiate(small_net<ortho::none>(), 1);
    BOOST_TEST(orthogonality_metrics(plain).empty());
}

BOOST_AUTO_TEST_CASE(the_defect_falls_under_the_penalty) {
    std::vector<float> loss;
    const auto free = train_defects(small_net<ortho::none>());
    const auto pulled = train_defects(small_net(ortho::penalty<>{.lambda = 20}), &loss);
    BOOST_TEST_MESSAGE("defect: no constraint " << free.front() << " → " << free.back()
                                                << "; penalty " << pulled.front() << " → "
                                                << pulled.back());
    BOOST_TEST(pulled.front() == free.front()); // the same initial weights
    BOOST_TEST(pulled.back() < 0.5 * pulled.front());
    BOOST_TEST(pulled.back() < 0.5 * free.back());
    BOOST_TEST(loss.back() < loss.front());
}

BOOST_AUTO_TEST_CASE(the_defect_stays_at_rounding_level_under_the_exact_paths) {
    auto check = [](const std::vector<double>& d, const char* what) {
        double worst = 0;
        for (double v : d)
            worst = std::max(worst, v);
        BOOST_TEST_MESSAGE(what << ": the largest defect over " << steps << " steps " << worst);
        BOOST_TEST(worst <= 1e-5, what << ": " << worst);
    };
    std::vector<float> loss;
    check(train_defects(small_net<ortho::gram_schmidt<>>(), &loss), "gram_schmidt<classical>");
    BOOST_TEST(loss.back() < loss.front());
    check(train_defects(small_net<ortho::gram_schmidt<gs_form::cgs2>>()), "gram_schmidt<cgs2>");
    check(train_defects(small_net<ortho::cholesky_qr>()), "cholesky_qr");
}
