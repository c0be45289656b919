// Tests of include/maso/layers/softmax.hpp.
#include <maso/layers/softmax.hpp>
#include <maso/vq/soft/softmax_output.hpp>

#include <maso_test/expect_layer.hpp>

#include <cmath>
#include <vector>

using namespace maso;

namespace {

template <class S, class T>
struct softmax_run {
    using L = softmax_node::layer<S, T>;
    L layer;
    std::size_t batch;
    std::vector<T> params, grads, y, dx;
    softmax_run(softmax_node n, std::size_t b)
        : layer(n), batch(b), params(layer.parameter_count()), grads(params.size()), y(S::size * b),
          dx(S::size * b) {
        std::mt19937_64 rng(1);
        init_context ctx{rng};
        layer.initialize(std::span<T>(params), ctx);
    }
    layer_io<S, S, T> io(const std::vector<T>& x, const std::vector<T>* dy = nullptr) {
        layer_io<S, S, T> r;
        r.x = {x.data(), batch};
        r.y = {y.data(), batch};
        if (dy) r.dy = {dy->data(), batch};
        r.dx = {dx.data(), batch};
        r.params = params;
        r.grads = grads;
        return r;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(gradients) {
    maso_test::expect_layer_gradients<shape<5>>(softmax(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<4, 1, 1>>(softmax(0.8f));
    maso_test::expect_layer_gradients<shape<6>>(softmax(learnable(0.3f)), {.batch = 2});
    maso_test::expect_layer_gradients<shape<3>>(softmax(learnable(0.7f)), {.batch = 4});
    maso_test::expect_layer_gradients<shape<3>>(softmax(0.f)); // η = 0: uniform
    maso_test::expect_layer_gradients<shape<1>>(softmax(learnable(0.5f)), {.batch = 3});
}

// Against softmax(ηz) written out, and against vq::softmax_output (derive.hpp's
// generic soft-layer output of the channel max), forward and backward.
BOOST_AUTO_TEST_CASE(values_and_gradients_match_the_references) {
    constexpr std::size_t C = 4, B = 3;
    using S = shape<C>;
    const auto x = maso_test::uniform_vector<double>(C * B, -3, 3);
    const auto dy = maso_test::uniform_vector<double>(C * B, -1, 1);
    for (const float b : {0.2f, 0.5f, 0.9f}) {
        softmax_run<S, double> run(softmax(learnable(b)), B);
        run.layer.forward(run.io(x));
        run.layer.backward(run.io(x, &dy));
        const double eta = b / (1.0 - b);
        double dtheta = 0;
        for (std::size_t n = 0; n < B; ++n) {
            std::array<double, C> z, dp;
            double total = 0;
            for (std::size_t c = 0; c < C; ++c) {
                z[c] = x[c * B + n];
                dp[c] = dy[c * B + n];
                total += std::exp(eta * z[c]);
            }
            const auto ref = vq::softmax_output<C>::backward(z, eta, dp);
            dtheta += ref.dtheta;
            for (std::size_t c = 0; c < C; ++c)
                BOOST_TEST_CONTEXT("beta " << b << ", image " << n << ", class " << c) {
                    MASO_CHECK_CLOSE(run.y[c * B + n], std::exp(eta * z[c]) / total, 1e-13, 0);
                    MASO_CHECK_CLOSE(run.y[c * B + n], vq::softmax_output<C>::forward(z, eta)[c],
                                     1e-13, 0);
                    MASO_CHECK_CLOSE(run.dx[c * B + n], ref.dx[c], 1e-12, 1e-12);
                }
        }
        MASO_CHECK_CLOSE(run.grads[0], dtheta, 1e-12, 1e-12);
    }
}

BOOST_AUTO_TEST_CASE(large_scores_are_stable) {
    using S = shape<3>;
    softmax_run<S, float> run(softmax(), 2);
    const std::vector<float> x{1000.f, -1000.f, 0.f, -1000.f, -1000.f, 0.f}; // [C][B]
    const std::vector<float> dy{1, 0, 0, 1, 0, 0};
    run.layer.forward(run.io(x));
    BOOST_CHECK_EQUAL(run.y[0], 1.f); // image 0: class 0 takes all
    BOOST_CHECK_EQUAL(run.y[2], 0.f);
    BOOST_CHECK_EQUAL(run.y[4], 0.f);
    BOOST_CHECK_EQUAL(run.y[5], 1.f); // image 1: class 2 takes all
    run.layer.backward(run.io(x, &dy));
    for (const float v : run.dx)
        BOOST_CHECK(std::isfinite(v));
}

BOOST_AUTO_TEST_CASE(beta_one_is_the_argmax) {
    using S = shape<3>;
    softmax_run<S, double> run(softmax(1.f), 2);
    // [C][B]: image 0 scores (0.5, 0.2, 0.1), image 1 (2, 2, −1), a tie of classes 0 and 1
    const std::vector<double> x{0.5, 2, 0.2, 2, 0.1, -1};
    const std::vector<double> dy{1, 2, 3, 4, 5, 6};
    run.layer.forward(run.io(x));
    const std::vector<double> expect{1, 0.5, 0, 0.5, 0, 0}; // ties share the mass
    for (std::size_t i = 0; i < 6; ++i)
        BOOST_CHECK_EQUAL(run.y[i], expect[i]);
    run.layer.backward(run.io(x, &dy));
    for (const double v : run.dx)
        BOOST_CHECK_EQUAL(v, 0.0);
}

BOOST_AUTO_TEST_CASE(probabilities_sum_to_one_in_float) {
    using S = shape<10>;
    softmax_run<S, float> run(softmax(0.7f), 5);
    const auto x = maso_test::uniform_vector<float>(S::size * 5, -8, 8);
    run.layer.forward(run.io(x));
    for (std::size_t n = 0; n < 5; ++n) {
        double s = 0;
        for (std::size_t c = 0; c < 10; ++c)
            s += run.y[c * 5 + n];
        BOOST_CHECK_SMALL(s - 1, 1e-6);
    }
}

BOOST_AUTO_TEST_CASE(bad_beta_is_refused) {
    BOOST_CHECK_THROW(softmax(learnable_per_channel(0.5f)), value_error);
    BOOST_CHECK_THROW(softmax(2.f), value_error);
    BOOST_CHECK_THROW(softmax(learnable(1.f)), value_error);
    BOOST_CHECK_THROW(
        (softmax_node::layer<shape<3>, float>(softmax_node{learnable_per_channel(0.5f)})),
        value_error);
}

BOOST_AUTO_TEST_CASE(metadata) {
    static_assert(softmax_node::kind == node_kind::window);
    static_assert(!softmax_node::fusable);
    static_assert(softmax_node::check<shape<3, 2, 2>>() == diag::softmax_needs_vector);
    static_assert(softmax_node::check<shape<10, 1, 1>>() == diag::ok);
    static_assert(std::is_same_v<softmax_node::output_shape<shape<10>>, shape<10>>);
    using L = softmax_node::layer<shape<10>, float>;
    BOOST_CHECK_EQUAL(L(softmax()).parameter_count(), 0u);
    BOOST_CHECK_EQUAL(L(softmax(learnable(0.4f))).parameter_count(), 1u);
    BOOST_CHECK_EQUAL(softmax_node::name(softmax(learnable(0.5f))), "softmax(β = 0.5, learnable)");
}
