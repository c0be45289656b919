// maso_test/expect_gradients.hpp — one call checks a whole network.
//
// expect_gradients(net) instantiates the network four times — fused and
// unfused, in double and in float, from the same seed — and checks:
//   * fused == unfused: outputs, loss, every parameter gradient and the input
//     gradient (double: relative 1e-10, with a floor of 1e-13 times the largest
//     gradient; float: relative 1e-5, with a floor of 1e-6
//     times the largest gradient for entries that cancel to almost nothing — a
//     weight gradient sums hundreds of float terms, and the fused plan may sum them
//     in another order, e.g. the GEMM's pooling-window column order);
//   * every parameter (weights, biases, batch-norm γ/β, the θ of every learnable β)
//     and every input value against central differences of the loss in double;
//   * backward accumulates: a second backward doubles the parameter gradients.
// A network without a loss node is checked on L = Σ w ⊙ output with random w.
#pragma once

#include <maso/train/model.hpp>

#include <maso_test/check.hpp>

#include <vector>

namespace maso_test {

struct net_check_options {
    std::size_t batch = 3;
    std::uint64_t seed = 5;
    double input_lo = -1.5, input_hi = 1.5;
    bool finite_differences = true;
};

template <class Net>
void expect_gradients(const Net& net, const net_check_options& o = {}) {
    using fused_t = maso::model<Net, maso::fuse::all_t, double>;
    using unfused_t = maso::model<Net, maso::fuse::none_t, double>;
    constexpr bool has_loss = fused_t::has_loss;
    using In = typename fused_t::input_shape;
    using Out = typename fused_t::output_shape;
    const std::size_t B = o.batch;

    fused_t a(net, B, {.seed = o.seed});
    unfused_t b(net, B, {.seed = o.seed});
    a.enable_input_gradient();
    b.enable_input_gradient();
    BOOST_REQUIRE_EQUAL(a.parameters().size(), b.parameters().size());
    for (std::size_t i = 0; i < a.parameters().size(); ++i)
        BOOST_REQUIRE_EQUAL(a.parameters()[i], b.parameters()[i]);

    auto x = uniform_vector<double>(In::size * B, o.input_lo, o.input_hi);
    std::vector<int> labels;
    if constexpr (has_loss)
        for (std::size_t n = 0; n < B; ++n)
            labels.push_back(int((3 * n + 1) % Out::channels));
    const auto w = uniform_vector<double>(Out::size * B, -1, 1);
    std::vector<double> y(Out::size * B);

    auto run = [&](auto& m, const std::vector<double>& xs) {
        const double loss = m.forward(xs, labels);
        if constexpr (has_loss) return loss;
        m.output(y);
        double l = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            l += w[i] * y[i];
        return l;
    };
    auto back = [&](auto& m) {
        if constexpr (has_loss)
            m.backward();
        else
            m.backward(w);
    };

    // fused == unfused, in double
    const double la = run(a, x), lb = run(b, x);
    MASO_CHECK_CLOSE(la, lb, 1e-10, 1e-12);
    back(a);
    back(b);
    // Entries that cancel to rounding noise are compared against the largest one.
    double gfloor = 0;
    for (double g : b.gradients())
        gfloor = std::max(gfloor, 1e-3 * std::fabs(g));
    for (std::size_t i = 0; i < a.gradients().size(); ++i)
        BOOST_TEST_CONTEXT("parameter " << i << " fused vs unfused")
    MASO_CHECK_CLOSE(a.gradients()[i], b.gradients()[i], 1e-10, gfloor);
    const auto gx = a.input_gradient(), gxb = b.input_gradient();
    for (std::size_t i = 0; i < gx.size(); ++i)
        BOOST_TEST_CONTEXT("input " << i << " fused vs unfused")
    MASO_CHECK_CLOSE(gx.data[i], gxb.data[i], 1e-10, gfloor);

    // backward accumulates
    const std::vector<double> g1(a.gradients().begin(), a.gradients().end());
    std::vector<double> dx1(gx.data, gx.data + gx.size());
    run(a, x);
    back(a);
    for (std::size_t i = 0; i < g1.size(); ++i)
        MASO_CHECK_CLOSE(a.gradients()[i], 2 * g1[i], 1e-12, gfloor);

    if (o.finite_differences) {
        auto params = a.parameters();
        for (std::size_t i = 0; i < params.size(); ++i) {
            const double p0 = params[i];
            const double fd = checked_difference(
                [&](double t) {
                    params[i] = t;
                    return run(a, x);
                },
                p0, g1[i], la);
            params[i] = p0;
            BOOST_TEST_CONTEXT("parameter " << i) MASO_CHECK_DERIVATIVE(g1[i], fd, la);
        }
        // The input gradient is channel-major inside the model; x is NCHW.
        for (std::size_t n = 0; n < B; ++n)
            for (std::size_t c = 0; c < In::channels; ++c)
                for (std::size_t p = 0; p < In::plane; ++p) {
                    const std::size_t i = (n * In::channels + c) * In::plane + p;
                    auto xs = x;
                    const double fd = checked_difference(
                        [&](double t) {
                            xs[i] = t;
                            return run(a, xs);
                        },
                        x[i], dx1[(c * B + n) * In::plane + p], la);
                    BOOST_TEST_CONTEXT("input " << i)
                    MASO_CHECK_DERIVATIVE(dx1[(c * B + n) * In::plane + p], fd, la);
                }
    }

    // fused == unfused in float, the precision models run in
    maso::model<Net, maso::fuse::all_t, float> fa(net, B, {.seed = o.seed});
    maso::model<Net, maso::fuse::none_t, float> fb(net, B, {.seed = o.seed});
    const std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end());
    std::vector<float> yfa(y.size()), yfb(y.size());
    const float lfa = fa.forward(xf, labels), lfb = fb.forward(xf, labels);
    MASO_CHECK_CLOSE(lfa, lfb, 1e-5, 1e-6);
    fa.output(yfa);
    fb.output(yfb);
    double ymax = 0, gmax = 0;
    for (float v : yfb)
        ymax = std::max(ymax, double(std::fabs(v)));
    for (std::size_t i = 0; i < y.size(); ++i)
        MASO_CHECK_CLOSE(yfa[i], yfb[i], 1e-5, ymax);
    if constexpr (has_loss) {
        fa.backward();
        fb.backward();
    } else {
        fa.backward(wf);
        fb.backward(wf);
    }
    for (float v : fb.gradients())
        gmax = std::max(gmax, double(std::fabs(v)));
    for (std::size_t i = 0; i < fa.gradients().size(); ++i)
        BOOST_TEST_CONTEXT("float parameter " << i)
    MASO_CHECK_CLOSE(fa.gradients()[i], fb.gradients()[i], 1e-5, 1e-1 * gmax);
}

} // namespace maso_test
