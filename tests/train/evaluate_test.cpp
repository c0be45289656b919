// Tests of include/maso/train/evaluate.hpp: a set evaluated in batches of 7 (a partial last
// batch of 2) and in one batch gives the loss and the count of right answers that images
// evaluated one by one give; evaluation mode is used and the previous mode restored; nothing
// is updated; bad sizes and labels are refused.
#include <maso/maso.hpp>
#include <maso/train/evaluate.hpp>

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace maso;

namespace {
const auto net = input<2, 4, 4>() >> conv2d<4, 3>() >>
                 batch_norm() >> beta_vq<relu>(learnable_per_channel(0.6f)) >>
                 global_avgpool() >> dense<3>() >> softmax_cross_entropy();
using model_t = decltype(instantiate(net, 1));

constexpr std::size_t n = 30, size = 2 * 4 * 4;

struct data {
    std::vector<float> images;
    std::vector<int> labels;
};

data make_data() {
    data d;
    std::mt19937 rng(3);
    std::normal_distribution<float> pixel(0.f, 1.f);
    for (std::size_t i = 0; i < n * size; ++i)
        d.images.push_back(pixel(rng));
    for (std::size_t i = 0; i < n; ++i)
        d.labels.push_back(int(i % 3));
    return d;
}

/// `to` gets the parameters and batch-norm state of `from` (models of any batch size).
void copy_into(model_t& from, model_t& to) {
    auto a = from.state_dict(), b = to.state_dict();
    for (std::size_t k = 0; k < a.size(); ++k)
        std::copy(a[k].value.begin(), a[k].value.end(), b[k].value.begin());
}

/// Running statistics that are not the initial ones: a few training forwards of batch 10.
void train_a_little(model_t& m, const data& d) {
    for (std::size_t k = 0; k < 3; ++k)
        m.forward(std::span(d.images).subspan(k * 10 * size, 10 * size),
                  std::span(d.labels).subspan(k * 10, 10));
}
} // namespace

BOOST_AUTO_TEST_CASE(a_partial_last_batch_is_counted_exactly) {
    const data d = make_data();
    model_t base(net, 10, {.seed = 4});
    train_a_little(base, d);

    // The reference: one image at a time, in evaluation mode, the model's own loss.
    model_t one(net, 1);
    copy_into(base, one);
    one.set_mode(mode::evaluation);
    double loss = 0;
    std::size_t correct = 0;
    std::vector<float> p(3);
    for (std::size_t i = 0; i < n; ++i) {
        loss += one.forward(std::span(d.images).subspan(i * size, size),
                            std::span(d.labels).subspan(i, 1));
        one.output(p);
        const auto best = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());
        correct += best == std::size_t(d.labels[i]);
    }
    loss /= double(n);
    BOOST_TEST_MESSAGE("reference: " << correct << " of " << n << ", loss " << loss);
    BOOST_REQUIRE(correct > 0 && correct < n); // neither all nor none: a count that can differ

    for (const std::size_t batch : {std::size_t(7), n, std::size_t(1), std::size_t(64)}) {
        BOOST_TEST_CONTEXT("batch " << batch) {
            model_t m(net, batch);
            copy_into(base, m);
            const auto before = m.state_dict();
            std::vector<float> state_before;
            for (const auto& t : before)
                state_before.insert(state_before.end(), t.value.begin(), t.value.end());
            const evaluation e = evaluate(m, d.images, d.labels);
            BOOST_TEST(e.count == n);
            BOOST_TEST(e.correct == correct);
            BOOST_TEST(e.accuracy == double(correct) / double(n));
            BOOST_TEST(e.loss == loss, boost::test_tools::tolerance(1e-5));
            // The previous mode is back and nothing was updated (the running statistics).
            BOOST_TEST(int(m.get_mode()) == int(mode::training));
            std::vector<float> state_after;
            for (const auto& t : m.state_dict())
                state_after.insert(state_after.end(), t.value.begin(), t.value.end());
            BOOST_TEST(state_after == state_before);
        }
    }
    // In evaluation mode before, in evaluation mode after.
    model_t m(net, 7);
    copy_into(base, m);
    m.set_mode(mode::evaluation);
    evaluate(m, d.images, d.labels);
    BOOST_TEST(int(m.get_mode()) == int(mode::evaluation));
}

BOOST_AUTO_TEST_CASE(an_empty_set_and_bad_arguments) {
    model_t m(net, 4);
    const evaluation e = evaluate(m, std::span<const float>(), std::span<const int>());
    BOOST_TEST(e.count == 0u);
    BOOST_TEST(e.accuracy == 0.0);
    const std::vector<float> images(2 * size);
    BOOST_CHECK_EXCEPTION(
        evaluate(m, images, std::vector<int>{0, 1, 2}), size_error, [](const size_error& x) {
            return std::string(x.what()) ==
                   "maso: evaluate: the image buffer has 64 elements, expected 96";
        });
    BOOST_CHECK_EXCEPTION(
        evaluate(m, images, std::vector<int>{0, 3}), value_error, [](const value_error& x) {
            return std::string(x.what()) == "maso: evaluate: image 1 has label 3, outside [0, 3)";
        });
}

BOOST_AUTO_TEST_CASE(a_nan_output_makes_the_loss_nan_and_counts_wrong) {
    const data d = make_data();
    model_t m(net, 10);
    train_a_little(m, d);
    m.parameters<5>()[0] = std::numeric_limits<float>::quiet_NaN(); // the dense layer
    const evaluation e = evaluate(m, d.images, d.labels);
    BOOST_TEST(std::isnan(e.loss));
    BOOST_TEST(e.correct == 0u);
}
