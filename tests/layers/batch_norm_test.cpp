// Tests of include/maso/layers/batch_norm.hpp.
#include <maso/layers/batch_norm.hpp>
#include <maso/layers/vq_node.hpp>

#include <maso_test/expect_layer.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace maso;

namespace {

/// batch_norm with γ, β away from (1, 0), so the gradient checks see where γ
/// enters; with warm_up, an evaluation-mode layer first runs one training
/// forward on its input, so that the running statistics are not the (0, 1) of a
/// zero-filled state.
struct tuned_bn {
    static constexpr node_kind kind = node_kind::normalization;
    batch_norm_node bn;
    bool warm_up = false;

    static std::string name(const tuned_bn& n) {
        return batch_norm_node::name(n.bn) + (n.warm_up ? " after a training forward" : "");
    }
    template <class In>
    static consteval diag check() {
        return diag::ok;
    }
    template <class In>
    using output_shape = In;

    template <class In, class T>
    struct layer : batch_norm_node::layer<In, T> {
        using base = batch_norm_node::layer<In, T>;
        bool warm_up;
        explicit layer(const tuned_bn& n) : base(n.bn), warm_up(n.warm_up) {}
        void initialize(std::span<T> p, init_context&) const {
            for (std::size_t c = 0; c < base::C; ++c) {
                p[c] = T(0.5 + 0.4 * double(c));
                p[base::C + c] = T(0.3 - 0.2 * double(c));
            }
        }
        void forward(const typename base::io& io) const {
            if (warm_up && io.state[base::running_set_at] == T(0)) {
                auto training = io;
                training.phase = mode::training;
                base::forward(training);
            }
            base::forward(io);
        }
    };
};

template <class S>
struct bn_run {
    using L = batch_norm_node::layer<S, double>;
    L layer;
    std::size_t batch;
    std::vector<double> params, grads, state, y, dx;
    explicit bn_run(batch_norm_node n, std::size_t b)
        : layer(n), batch(b), params(layer.parameter_count()), grads(params.size()),
          state(layer.state_size(b)), y(S::size * b), dx(S::size * b) {
        std::mt19937_64 rng(1);
        init_context ctx{rng};
        layer.initialize(std::span<double>(params), ctx);
    }
    layer_io<S, S, double> io(const std::vector<double>& x, mode phase,
                              const std::vector<double>* dy = nullptr) {
        layer_io<S, S, double> r;
        r.x = {x.data(), batch};
        r.y = {y.data(), batch};
        if (dy) r.dy = {dy->data(), batch};
        r.dx = {dx.data(), batch};
        r.params = params;
        r.grads = grads;
        r.state = state;
        r.phase = phase;
        return r;
    }
};

/// The layer keeps eps as given, a float: 1e-5f, not the double 1e-5.
const double eps = double(1e-5f);

struct moments {
    double mean, biased, unbiased;
};
moments moments_of(const double* v, std::size_t m) {
    double s = 0;
    for (std::size_t i = 0; i < m; ++i)
        s += v[i];
    const double mu = s / double(m);
    double ss = 0;
    for (std::size_t i = 0; i < m; ++i)
        ss += (v[i] - mu) * (v[i] - mu);
    return {mu, ss / double(m), ss / double(m - 1)};
}

} // namespace

BOOST_AUTO_TEST_CASE(gradients_in_training) {
    maso_test::expect_layer_gradients<shape<3, 2, 3>>(batch_norm());
    maso_test::expect_layer_gradients<shape<4>>(batch_norm(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<2, 1, 5>>(batch_norm(0.5f, 1e-3f), {.batch = 1});
    maso_test::expect_layer_gradients<shape<2, 3, 3>>(tuned_bn{batch_norm()}, {.batch = 2});
    maso_test::expect_layer_gradients<shape<5>>(tuned_bn{batch_norm(1.f)}, {.batch = 7});
    // |μ| ≫ σ: the (x − μ)·s order keeps the digits
    maso_test::expect_layer_gradients<shape<2, 2, 2>>(tuned_bn{batch_norm()},
                                                      {.batch = 3, .input_lo = 40, .input_hi = 44});
}

BOOST_AUTO_TEST_CASE(gradients_in_evaluation) {
    const auto eval = maso_test::layer_check_options{.batch = 3, .phase = mode::evaluation};
    maso_test::expect_layer_gradients<shape<3, 2, 2>>(batch_norm(), eval); // running (0, 1)
    maso_test::expect_layer_gradients<shape<3, 2, 2>>(tuned_bn{batch_norm(1.f), true}, eval);
    maso_test::expect_layer_gradients<shape<4>>(tuned_bn{batch_norm(0.3f), true}, eval);
}

BOOST_AUTO_TEST_CASE(training_output_is_normalised_per_channel) {
    using S = shape<3, 2, 5>;
    const std::size_t B = 4, M = B * S::plane;
    const auto x = maso_test::uniform_vector<double>(S::size * B, -3, 7);
    bn_run<S> run(batch_norm(), B);
    run.layer.forward(run.io(x, mode::training));
    for (std::size_t c = 0; c < S::channels; ++c) {
        const auto in = moments_of(x.data() + c * M, M);
        const auto out = moments_of(run.y.data() + c * M, M);
        BOOST_TEST_CONTEXT("channel " << c) {
            BOOST_CHECK_SMALL(out.mean, 1e-13);
            // variance 1 up to eps: σ²/(σ² + ε)
            MASO_CHECK_CLOSE(out.biased, in.biased / (in.biased + eps), 1e-12, 0);
        }
    }

    // float: the statistics are summed in double, so float keeps ~1e-6
    const std::vector<float> xf(x.begin(), x.end());
    const batch_norm_node::layer<S, float> lf(batch_norm());
    std::vector<float> yf(xf.size()), params(2 * S::channels), state(lf.state_size(B));
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    lf.initialize(std::span<float>(params), ctx);
    layer_io<S, S, float> io;
    io.x = {xf.data(), B};
    io.y = {yf.data(), B};
    io.params = params;
    io.state = state;
    lf.forward(io);
    for (std::size_t c = 0; c < S::channels; ++c) {
        const std::vector<double> yc(yf.begin() + long(c * M), yf.begin() + long((c + 1) * M));
        const auto out = moments_of(yc.data(), M);
        BOOST_CHECK_SMALL(out.mean, 1e-6);
        BOOST_CHECK_SMALL(out.biased - 1, 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(gamma_and_beta_scale_and_shift) {
    using S = shape<2, 1, 3>;
    const std::size_t B = 2, M = B * S::plane;
    const std::vector<double> x{1, 2, 3, 4, 5, 6, -1, 0, 0, 0, 0, 1};
    bn_run<S> run(batch_norm(), B);
    run.params = {2, 0.5, 10, -3}; // γ = (2, 0.5), β = (10, −3)
    run.layer.forward(run.io(x, mode::training));
    for (std::size_t c = 0; c < 2; ++c) {
        const auto in = moments_of(x.data() + c * M, M);
        for (std::size_t i = 0; i < M; ++i) {
            const double expect =
                run.params[c] * (x[c * M + i] - in.mean) / std::sqrt(in.biased + eps) +
                run.params[2 + c];
            MASO_CHECK_CLOSE(run.y[c * M + i], expect, 1e-12, 1e-12);
        }
    }
}

BOOST_AUTO_TEST_CASE(running_statistics_follow_the_momentum) {
    using S = shape<2, 2, 2>;
    using L = batch_norm_node::layer<S, double>;
    const std::size_t B = 3, M = B * S::plane;
    const double m = 0.25;
    bn_run<S> run(batch_norm(float(m)), B);
    for (std::size_t c = 0; c < 2; ++c) { // a zero-filled state reads as (0, 1)
        BOOST_CHECK_EQUAL(L::running_mean(run.state, c), 0.0);
        BOOST_CHECK_EQUAL(L::running_var(run.state, c), 1.0);
    }
    double mean[2] = {0, 0}, var[2] = {1, 1};
    for (int step = 0; step < 3; ++step) {
        const auto x = maso_test::uniform_vector<double>(S::size * B, -1 + step, 3 + 2 * step);
        run.layer.forward(run.io(x, mode::training));
        for (std::size_t c = 0; c < 2; ++c) {
            const auto b = moments_of(x.data() + c * M, M);
            mean[c] = (1 - m) * mean[c] + m * b.mean;
            var[c] = (1 - m) * var[c] + m * b.unbiased; // the unbiased variance
            BOOST_TEST_CONTEXT("step " << step << ", channel " << c) {
                MASO_CHECK_CLOSE(L::running_mean(run.state, c), mean[c], 1e-12, 1e-12);
                MASO_CHECK_CLOSE(L::running_var(run.state, c), var[c], 1e-12, 1e-12);
            }
        }
    }
    // evaluation reads them and leaves them alone
    const auto x = maso_test::uniform_vector<double>(S::size * B, -5, 5);
    run.layer.forward(run.io(x, mode::evaluation));
    for (std::size_t c = 0; c < 2; ++c) {
        MASO_CHECK_CLOSE(L::running_mean(run.state, c), mean[c], 1e-12, 1e-12);
        MASO_CHECK_CLOSE(L::running_var(run.state, c), var[c], 1e-12, 1e-12);
    }
}

BOOST_AUTO_TEST_CASE(momentum_one_keeps_the_last_batch) {
    using S = shape<1, 1, 4>;
    using L = batch_norm_node::layer<S, double>;
    bn_run<S> run(batch_norm(1.f), 1);
    const std::vector<double> x{1, 2, 3, 6};
    run.layer.forward(run.io(x, mode::training));
    BOOST_CHECK_CLOSE(L::running_mean(run.state, 0), 3.0, 1e-12);
    BOOST_CHECK_CLOSE(L::running_var(run.state, 0), 14.0 / 3, 1e-12); // (4+1+0+9)/3
}

BOOST_AUTO_TEST_CASE(evaluation_uses_running_statistics) {
    using S = shape<2, 1, 3>;
    using L = batch_norm_node::layer<S, double>;
    const std::size_t B = 2, M = B * S::plane;
    bn_run<S> run(batch_norm(0.4f), B);
    run.params = {1.5, -0.5, 0.25, 2};

    // before any training: running (0, 1)
    const auto x = maso_test::uniform_vector<double>(S::size * B, -2, 2);
    run.layer.forward(run.io(x, mode::evaluation));
    for (std::size_t c = 0; c < 2; ++c)
        for (std::size_t i = 0; i < M; ++i)
            MASO_CHECK_CLOSE(run.y[c * M + i],
                             run.params[c] * x[c * M + i] / std::sqrt(1 + eps) + run.params[2 + c],
                             1e-13, 1e-13);

    for (int step = 0; step < 2; ++step)
        run.layer.forward(
            run.io(maso_test::uniform_vector<double>(S::size * B, 1, 4), mode::training));
    run.layer.forward(run.io(x, mode::evaluation));
    for (std::size_t c = 0; c < 2; ++c) {
        const double rm = L::running_mean(run.state, c), rv = L::running_var(run.state, c);
        BOOST_CHECK_NE(rm, 0.0);
        for (std::size_t i = 0; i < M; ++i)
            MASO_CHECK_CLOSE(run.y[c * M + i],
                             run.params[c] * (x[c * M + i] - rm) / std::sqrt(rv + eps) +
                                 run.params[2 + c],
                             1e-13, 1e-13);
    }
}

// The planner's path: statistics, the apply op chained with the unit that
// follows, chain_backward, then correct — equal to the two layers run apart.
BOOST_AUTO_TEST_CASE(fused_chain_matches_the_layers) {
    using S = shape<3, 2, 3>;
    const std::size_t B = 3, n = B * S::plane;
    using BN = batch_norm_node::layer<S, double>;
    using VQ = vq_node<relu, false>::layer<S, double>;
    const BN bn(batch_norm());
    const VQ unit(beta_vq<relu>(learnable_per_channel(0.7f)));
    const auto x = maso_test::uniform_vector<double>(S::size * B, -2, 3);
    const auto dy = maso_test::uniform_vector<double>(S::size * B, -1, 1);
    for (const mode phase : {mode::training, mode::evaluation}) {
        std::vector<double> bp{1.2, 0.7, -0.4, 0.1, -0.2, 0.3}, up(3);
        std::mt19937_64 rng(3);
        init_context ctx{rng};
        unit.initialize(std::span<double>(up), ctx);
        std::vector<double> bstate(bn.state_size(B));

        // apart
        std::vector<double> mid(x.size()), y(x.size()), dmid(x.size()), dx(x.size());
        std::vector<double> bg(6), ug(3), uscratch(unit.scratch_size(B));
        layer_io<S, S, double> a;
        a.x = {x.data(), B};
        a.y = {mid.data(), B};
        a.dy = {dmid.data(), B};
        a.dx = {dx.data(), B};
        a.params = bp;
        a.grads = bg;
        a.state = bstate;
        a.phase = phase;
        layer_io<S, S, double> u;
        u.x = {mid.data(), B};
        u.y = {y.data(), B};
        u.dy = {dy.data(), B};
        u.dx = {dmid.data(), B};
        u.params = up;
        u.grads = ug;
        u.scratch = uscratch;
        u.phase = phase;
        bn.forward(a);
        unit.forward(u);
        unit.backward(u);
        bn.backward(a);

        // fused
        std::vector<double> fy(x.size()), fdx(x.size()), fbg(6), fug(3);
        auto fa = a;
        fa.y = {nullptr, B};
        fa.grads = fbg;
        auto fu = u;
        fu.grads = fug;
        bn.statistics(fa);
        for (std::size_t c = 0; c < 3; ++c) {
            const auto ops = std::tuple{bn.op(fa, c), unit.op(fu, c)};
            kernels::chain_forward(xsimd::default_arch{}, ops, x.data() + c * n, fy.data() + c * n,
                                   n);
            kernels::chain_backward(xsimd::default_arch{}, ops, x.data() + c * n, dy.data() + c * n,
                                    fdx.data() + c * n, n);
            bn.correct(fa, c, x.data() + c * n, fdx.data() + c * n, n);
        }
        BOOST_TEST_CONTEXT((phase == mode::training ? "training" : "evaluation")) {
            for (std::size_t i = 0; i < x.size(); ++i) {
                MASO_CHECK_CLOSE(fy[i], y[i], 1e-13, 1e-13);
                MASO_CHECK_CLOSE(fdx[i], dx[i], 1e-12, 1e-12);
            }
            for (std::size_t i = 0; i < 6; ++i)
                MASO_CHECK_CLOSE(fbg[i], bg[i], 1e-12, 1e-12);
            for (std::size_t i = 0; i < 3; ++i)
                MASO_CHECK_CLOSE(fug[i], ug[i], 1e-12, 1e-12);
        }
    }
}

BOOST_AUTO_TEST_CASE(parameter_gradients_without_dx) {
    using S = shape<2, 3, 3>;
    const std::size_t B = 2;
    const auto x = maso_test::uniform_vector<double>(S::size * B, -1, 2);
    const auto dy = maso_test::uniform_vector<double>(S::size * B, -1, 1);
    bn_run<S> with(batch_norm(), B), without(batch_norm(), B);
    with.layer.forward(with.io(x, mode::training));
    with.layer.backward(with.io(x, mode::training, &dy));
    without.layer.forward(without.io(x, mode::training));
    auto io = without.io(x, mode::training, &dy);
    io.dx = {nullptr, B};
    without.layer.backward(io);
    for (std::size_t i = 0; i < with.grads.size(); ++i)
        MASO_CHECK_CLOSE(without.grads[i], with.grads[i], 1e-13, 1e-13);
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_refused) {
    BOOST_CHECK_THROW(batch_norm(0.f), value_error);
    BOOST_CHECK_THROW(batch_norm(-0.1f), value_error);
    BOOST_CHECK_THROW(batch_norm(1.5f), value_error);
    BOOST_CHECK_THROW(batch_norm(std::numeric_limits<float>::quiet_NaN()), value_error);
    BOOST_CHECK_THROW(batch_norm(0.1f, 0.f), value_error);
    BOOST_CHECK_THROW(batch_norm(0.1f, -1e-5f), value_error);
    BOOST_CHECK_THROW(batch_norm(0.1f, std::numeric_limits<float>::quiet_NaN()), value_error);
    BOOST_CHECK_NO_THROW(batch_norm(1.f, 1e-3f));
    try {
        batch_norm(1.5f);
    } catch (const value_error& e) {
        BOOST_CHECK(std::string(e.what()).find("momentum = 1.5") != std::string::npos);
    }
    try {
        batch_norm(0.1f, -2.f);
    } catch (const value_error& e) {
        BOOST_CHECK(std::string(e.what()).find("eps = -2") != std::string::npos);
    }
    // a node built without the factory is checked by its layer
    BOOST_CHECK_THROW((batch_norm_node::layer<shape<2>, float>(batch_norm_node{2.f, 1e-5f})),
                      value_error);

    // one value per channel has no batch variance
    bn_run<shape<3>> run(batch_norm(), 1);
    const std::vector<double> x{1, 2, 3};
    BOOST_CHECK_THROW(run.layer.forward(run.io(x, mode::training)), value_error);
    BOOST_CHECK_NO_THROW(run.layer.forward(run.io(x, mode::evaluation)));
}

BOOST_AUTO_TEST_CASE(non_finite_statistics_leave_the_running_ones) {
    // All channels or none: channel 1's overflow must not let channel 0 move either.
    using S = shape<2, 1, 3>;
    using L = batch_norm_node::layer<S, float>;
    const L layer(batch_norm(0.5f));
    std::vector<float> params(4), state(layer.state_size(1)), y(6);
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(std::span<float>(params), ctx);
    layer.initialize_state(state);
    layer_io<S, S, float> io;
    io.y = {y.data(), 1};
    io.params = params;
    io.state = state;
    const std::vector<float> good{1, 2, 3, 4, 5, 6};
    io.x = {good.data(), 1};
    layer.forward(io);
    const std::vector<float> before = state;
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), 1e30f, -1e25f}) {
        const std::vector<float> x{1, 2, 3, 4, bad, 6};
        io.x = {x.data(), 1};
        BOOST_TEST_CONTEXT("value " << bad) {
            BOOST_CHECK_EXCEPTION(layer.forward(io), numeric_error, [](const numeric_error& e) {
                return std::string(e.what()).find("channel 1's batch") != std::string::npos;
            });
            for (std::size_t c = 0; c < 2; ++c) {
                BOOST_CHECK_EQUAL(L::running_mean(state, c), L::running_mean(before, c));
                BOOST_CHECK_EQUAL(L::running_var(state, c), L::running_var(before, c));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(tensors_and_initial_state) {
    using L = batch_norm_node::layer<shape<3, 2, 2>, float>;
    const L l(batch_norm());
    const auto t = l.tensors();
    BOOST_REQUIRE_EQUAL(t.size(), 4u);
    BOOST_CHECK_EQUAL(std::string(t[0].name) + t[1].name + t[2].name + t[3].name,
                      "weightbiasrunning_meanrunning_var");
    BOOST_CHECK(t[0].kind == parameter_kind::scale && t[1].kind == parameter_kind::shift);
    BOOST_CHECK(t[2].in_state() && t[3].in_state() && !t[0].in_state());
    BOOST_CHECK_EQUAL(t[2].offset, L::running_mean_at);
    BOOST_CHECK_EQUAL(t[3].offset, L::running_var_at);
    std::vector<float> state(l.state_size(1), 7.f);
    l.initialize_state(state);
    for (std::size_t c = 0; c < 3; ++c) {
        BOOST_CHECK_EQUAL(state[L::running_mean_at + c], 0.f);
        BOOST_CHECK_EQUAL(state[L::running_var_at + c], 1.f);
    }
}

BOOST_AUTO_TEST_CASE(metadata) {
    static_assert(batch_norm_node::kind == node_kind::normalization);
    static_assert(batch_norm_node::check<shape<3, 8, 8>>() == diag::ok);
    static_assert(batch_norm_node::check<shape<10>>() == diag::ok);
    static_assert(std::is_same_v<batch_norm_node::output_shape<shape<3, 8, 8>>, shape<3, 8, 8>>);
    static_assert(batch_norm_op<float>::accumulators == 2);
    const batch_norm_node::layer<shape<4, 2, 2>, float> l(batch_norm());
    BOOST_CHECK_EQUAL(l.parameter_count(), 8u);
    BOOST_CHECK_EQUAL(l.state_size(5), 29u);
    BOOST_CHECK_EQUAL(batch_norm_node::name(batch_norm()),
                      "batch_norm(momentum = 0.1, eps = 1e-05)");
}
