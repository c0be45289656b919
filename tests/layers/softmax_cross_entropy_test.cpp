// Tests of include/maso/layers/softmax_cross_entropy.hpp.
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/softmax_cross_entropy.hpp>

#include <maso_test/expect_layer.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace maso;

namespace {

template <class S, class T = double>
struct ce_run {
    using L = softmax_cross_entropy_node::layer<S, T>;
    L layer{softmax_cross_entropy()};
    std::size_t batch;
    std::vector<T> y, dx;
    std::vector<int> labels;
    T loss = -1;
    ce_run(std::size_t b, std::vector<int> l)
        : batch(b), y(S::size * b), dx(S::size * b), labels(std::move(l)) {}
    layer_io<S, S, T> io(const std::vector<T>& x) {
        layer_io<S, S, T> r;
        r.x = {x.data(), batch};
        r.y = {y.data(), batch};
        r.dx = {dx.data(), batch};
        r.labels = labels.data();
        r.loss = &loss;
        return r;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(gradients) {
    maso_test::expect_layer_gradients<shape<5>>(softmax_cross_entropy(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<10>>(softmax_cross_entropy(),
                                                 {.batch = 4, .input_lo = -4, .input_hi = 4});
    maso_test::expect_layer_gradients<shape<2, 1, 1>>(softmax_cross_entropy(), {.batch = 1});
}

BOOST_AUTO_TEST_CASE(hand_computed_example) {
    // [C][B] = 3 classes, 2 images: image 0 scores (1, 2, 3) label 2; image 1 (0, 0, 0) label 0.
    const std::vector<double> x{1, 0, 2, 0, 3, 0};
    ce_run<shape<3>> run(2, {2, 0});
    run.layer.forward(run.io(x));
    // image 0: log(e + e² + e³) − 3 = log(1 + e⁻¹ + e⁻²); image 1: log 3
    const double l0 = std::log(1 + std::exp(-1.0) + std::exp(-2.0)), l1 = std::log(3.0);
    MASO_CHECK_CLOSE(run.loss, (l0 + l1) / 2, 1e-14, 0);
    MASO_CHECK_CLOSE(run.loss, 0.7531091266, 1e-9, 0); // the same, by hand
    const double t = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    const std::vector<double> p{std::exp(1.0) / t, 1.0 / 3,           std::exp(2.0) / t,
                                1.0 / 3,           std::exp(3.0) / t, 1.0 / 3};
    for (std::size_t i = 0; i < 6; ++i)
        MASO_CHECK_CLOSE(run.y[i], p[i], 1e-14, 0);

    run.layer.backward(run.io(x)); // io.dy is null: backward does not read it
    const std::vector<double> onehot{0, 1, 0, 0, 1, 0};
    for (std::size_t i = 0; i < 6; ++i)
        MASO_CHECK_CLOSE(run.dx[i], (p[i] - onehot[i]) / 2, 1e-14, 1e-16);
}

BOOST_AUTO_TEST_CASE(large_scores_are_stable) {
    const std::vector<float> x{1000.f, 1000.f, -1000.f, -1000.f}; // [C][B], labels 0 and 1
    ce_run<shape<2>, float> run(2, {0, 1});
    run.layer.forward(run.io(x));
    BOOST_CHECK_EQUAL(run.loss, 1000.f); // image 0: 0; image 1: 2000
    run.layer.backward(run.io(x));
    const std::vector<float> dx{0, 0.5f, 0, -0.5f};
    for (std::size_t i = 0; i < 4; ++i)
        BOOST_CHECK_EQUAL(run.dx[i], dx[i]);
}

BOOST_AUTO_TEST_CASE(confident_gradient_keeps_its_digits) {
    // p_label ≈ 1 − 2e−12: p − 1 from the other classes' mass, not from 1 − p.
    const std::vector<double> x{30, 3, 3}; // [C][B = 1]
    ce_run<shape<3>> run(1, {0});
    run.layer.backward(run.io(x));
    const double e = std::exp(-27.0);
    MASO_CHECK_CLOSE(run.dx[0], -2 * e / (1 + 2 * e), 1e-14, 0);
}

BOOST_AUTO_TEST_CASE(bad_labels_are_refused) {
    const std::vector<double> x(10, 0.5);
    for (const int bad : {-1, 5, 99}) {
        ce_run<shape<5>> run(2, {1, bad});
        BOOST_CHECK_THROW(run.layer.forward(run.io(x)), value_error);
        BOOST_CHECK_THROW(run.layer.backward(run.io(x)), value_error);
        BOOST_CHECK_EQUAL(run.loss, -1.0); // nothing written
        try {
            run.layer.forward(run.io(x));
        } catch (const value_error& err) {
            const std::string what = err.what();
            BOOST_TEST_CONTEXT(what) {
                BOOST_CHECK(what.find("image 1") != std::string::npos);
                BOOST_CHECK(what.find("label " + std::to_string(bad)) != std::string::npos);
                BOOST_CHECK(what.find("5 classes") != std::string::npos);
            }
        }
    }
    ce_run<shape<5>> run(2, {0, 4});
    BOOST_CHECK_NO_THROW(run.layer.forward(run.io(x)));
    auto io = run.io(x);
    io.labels = nullptr;
    BOOST_CHECK_THROW(run.layer.forward(io), value_error); // a loss needs labels
    io.loss = nullptr;
    BOOST_CHECK_NO_THROW(run.layer.forward(io)); // prediction: probabilities only
}

BOOST_AUTO_TEST_CASE(metadata) {
    using N = softmax_cross_entropy_node;
    static_assert(N::kind == node_kind::loss);
    static_assert(N::check<shape<3, 2, 2>>() == diag::loss_needs_vector);
    static_assert(N::check<shape<10>>() == diag::ok);
    static_assert(std::is_same_v<N::output_shape<shape<10>>, shape<10>>);
    using net = decltype(input<4>() >> softmax_cross_entropy());
    static_assert(std::is_same_v<net::output_shape, shape<4>>);
    using L = N::layer<shape<10>, float>;
    BOOST_CHECK_EQUAL(L(softmax_cross_entropy()).parameter_count(), 0u);
    BOOST_CHECK_EQUAL(N::name(softmax_cross_entropy()), "softmax_cross_entropy");
}
