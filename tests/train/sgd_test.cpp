// Tests of include/maso/train/sgd.hpp: the update against the formula computed
// independently (in double), momentum and Nesterov momentum over three steps, refused
// options, the learning rate set between steps, the state named for checkpoints, bitwise
// equal steps at 1 and 2 threads, and no allocation in step().
#include <maso/maso.hpp>

#include <maso_test/check.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace maso;

namespace {

// Weights, biases and a learnable θ: every kind of parameter a step touches.
const auto tiny = input<4>() >> dense<3>() >> beta_vq<relu>(learnable(0.5f)) >> dense<2>();
constexpr std::size_t batch = 2;

/// One forward and backward pass from fixed inputs and output gradient; the
/// gradients are zeroed first, as in a training step.
template <class Model>
void compute_gradients(Model& m, int seed) {
    std::vector<float> x(4 * batch), dy(2 * batch);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = std::sin(0.7f * float(i) + float(seed));
    for (std::size_t i = 0; i < dy.size(); ++i)
        dy[i] = std::cos(1.3f * float(i) - float(seed));
    m.zero_gradients();
    m.forward(x);
    m.backward(dy);
}

std::vector<double> to_double(std::span<const float> s) { return {s.begin(), s.end()}; }

/// Each parameter's weight decay as an sgd built from the model applies it: wd, but 0 on
/// the θ of a learnable β unless decay_beta.
template <class Model>
std::vector<double> decay_of(Model& m, double wd, bool decay_beta = false) {
    std::vector<double> d(m.parameters().size(), wd);
    std::size_t thetas = 0;
    for (const auto& p : m.state_dict())
        if (p.kind == parameter_kind::beta && !decay_beta)
            for (std::size_t i = 0; i < p.value.size(); ++i, ++thetas)
                d[std::size_t(p.value.data() - m.parameters().data()) + i] = 0;
    BOOST_REQUIRE(decay_beta || thetas == 1); // tiny has one θ
    return d;
}

/// The message of the value_error an option set raises ("" if none).
std::string refusal(sgd_options o) {
    std::vector<float> p(3), g(3);
    try {
        sgd opt(p, g, o);
    } catch (const value_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(one_step_is_p_minus_lr_times_g_plus_wd_p) {
    auto m = instantiate(tiny, batch, fuse::all, {.seed = 3});
    compute_gradients(m, 0);
    const auto p0 = to_double(m.parameters());
    const auto g = to_double(m.gradients());
    BOOST_REQUIRE_GT(p0.size(), 20u);
    const double lr = 0.1, wd = 0.05;
    sgd opt(m, {.learning_rate = 0.1f, .momentum = 0.f, .weight_decay = 0.05f});
    BOOST_CHECK(opt.velocity().empty()); // no momentum: no velocity buffer
    opt.step();
    std::size_t moved = 0;
    const auto decay = decay_of(m, wd);
    for (std::size_t i = 0; i < p0.size(); ++i) {
        const double expected = p0[i] - lr * (g[i] + decay[i] * p0[i]);
        MASO_CHECK_CLOSE(m.parameters()[i], expected, 1e-6,
                         std::fabs(p0[i]) + lr * std::fabs(g[i]));
        moved += m.parameters()[i] != float(p0[i]);
        BOOST_CHECK_EQUAL(m.gradients()[i], float(g[i])); // gradients are read, not changed
    }
    BOOST_CHECK_GT(moved, p0.size() / 2);
}

BOOST_AUTO_TEST_CASE(without_weight_decay_a_zero_gradient_leaves_the_parameter) {
    std::vector<float> p{1.5f, -2.f, 0.25f}, g{0.f, 1.f, -4.f};
    sgd opt(p, g, {.learning_rate = 0.5f});
    opt.step();
    BOOST_CHECK_EQUAL(p[0], 1.5f);
    BOOST_CHECK_EQUAL(p[1], -2.5f); // exact in binary: -2 - 0.5·1
    BOOST_CHECK_EQUAL(p[2], 2.25f); // 0.25 + 0.5·4
}

BOOST_AUTO_TEST_CASE(momentum_with_a_constant_gradient_over_three_steps) {
    // v₁ = g, v₂ = (1 + μ)g, v₃ = (1 + μ + μ²)g; p₃ = p₀ − lr·(3 + 2μ + μ²)·g.
    std::vector<float> p{1.f, -0.5f, 2.f, 0.f}, g{0.25f, -1.f, 0.5f, 2.f};
    const std::vector<float> p0 = p;
    const double lr = 0.125, mu = 0.5;
    sgd opt(p, g, {.learning_rate = 0.125f, .momentum = 0.5f});
    BOOST_REQUIRE_EQUAL(opt.velocity().size(), p.size());
    for (int k = 0; k < 3; ++k)
        opt.step();
    for (std::size_t i = 0; i < p.size(); ++i) {
        MASO_CHECK_CLOSE(opt.velocity()[i], (1 + mu + mu * mu) * g[i], 1e-7, 1);
        MASO_CHECK_CLOSE(p[i], p0[i] - lr * (3 + 2 * mu + mu * mu) * g[i], 1e-7, 1);
    }
    opt.reset_velocity();
    for (float v : opt.velocity())
        BOOST_CHECK_EQUAL(v, 0.f);
}

BOOST_AUTO_TEST_CASE(momentum_and_weight_decay_over_three_training_steps) {
    // Each step's gradient comes from the model as the previous step left it; the
    // reference follows v ← μv + (g + wd·p), p ← p − lr·v in double from those gradients.
    auto m = instantiate(tiny, batch, fuse::all, {.seed = 5});
    const double lr = 0.05, mu = 0.9, wd = 0.01;
    sgd opt(m, {.learning_rate = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f});
    auto p = to_double(m.parameters());
    std::vector<double> v(p.size(), 0.0);
    const auto decay = decay_of(m, wd);
    for (int step = 0; step < 3; ++step) {
        compute_gradients(m, step);
        const auto g = to_double(m.gradients());
        for (std::size_t i = 0; i < p.size(); ++i) {
            v[i] = mu * v[i] + (g[i] + decay[i] * p[i]);
            p[i] -= lr * v[i];
        }
        opt.step();
        for (std::size_t i = 0; i < p.size(); ++i) {
            MASO_CHECK_CLOSE(opt.velocity()[i], v[i], 1e-5, 1e-3);
            MASO_CHECK_CLOSE(m.parameters()[i], p[i], 1e-5, 1e-3);
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused_naming_the_option_and_value) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    struct bad {
        sgd_options o;
        const char* text;
    };
    const std::vector<bad> cases{
        {{.learning_rate = 0.f}, "learning_rate = 0 "},
        {{.learning_rate = -0.5f}, "learning_rate = -0.5 "},
        {{.learning_rate = nan}, "learning_rate = nan "},
        {{.learning_rate = inf}, "learning_rate = inf "},
        {{.momentum = -0.25f}, "momentum = -0.25 "},
        {{.momentum = 1.f}, "momentum = 1 "},
        {{.momentum = 1.5f}, "momentum = 1.5 "},
        {{.momentum = nan}, "momentum = nan "},
        {{.momentum = 0.f, .nesterov = true}, "nesterov = true needs momentum > 0 (momentum = 0)"},
        {{.weight_decay = -0.5f}, "weight_decay = -0.5 "},
        {{.weight_decay = nan}, "weight_decay = nan "},
    };
    for (const auto& c : cases) {
        const std::string m = refusal(c.o);
        BOOST_CHECK_MESSAGE(m.find(std::string("maso: sgd: ") + c.text) != std::string::npos,
                            "expected \"" << c.text << "\" in \"" << m << "\"");
    }
    // The edges of each domain are accepted.
    BOOST_CHECK_EQUAL(refusal({.learning_rate = 1e-30f, .momentum = 0.f, .weight_decay = 0.f}), "");
    BOOST_CHECK_EQUAL(refusal({.learning_rate = 10.f, .momentum = 0.999f, .weight_decay = 1.f}),
                      "");
    // Spans of different lengths are a size error.
    std::vector<float> p(3), g(4);
    BOOST_CHECK_THROW(sgd(p, g).step(), size_error);
}

BOOST_AUTO_TEST_CASE(no_allocation_in_step) {
    auto m = instantiate(tiny, batch);
    for (const float mu : {0.f, 0.9f}) {
        sgd opt(m, {.learning_rate = 0.01f, .momentum = mu, .weight_decay = 1e-4f});
        compute_gradients(m, 1);
        opt.step(); // the pool starts its threads at its first multi-threaded call
        const long before = maso_test::allocations();
        for (int k = 0; k < 3; ++k)
            opt.step();
        BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
        BOOST_CHECK_EQUAL(opt.velocity().size(), mu > 0.f ? m.parameters().size() : 0u);
    }
}

BOOST_AUTO_TEST_CASE(weight_decay_leaves_theta_unless_asked) {
    // Decay would pull θ to 0, β to ½: by default a learnable β is left to its gradient.
    for (const bool decay_beta : {false, true}) {
        auto m = instantiate(tiny, batch, fuse::all, {.seed = 7});
        m.parameters<2>()[0] = 0.8f; // θ starts at logit(½) = 0, which decay leaves alone
        m.zero_gradients();          // zero gradients: only the decay moves a parameter
        const auto p0 = to_double(m.parameters());
        sgd opt(m, {.learning_rate = 0.5f, .weight_decay = 0.25f, .decay_beta = decay_beta});
        opt.step();
        const auto decay = decay_of(m, 0.25, decay_beta);
        for (std::size_t i = 0; i < p0.size(); ++i)
            MASO_CHECK_CLOSE(m.parameters()[i], p0[i] * (1 - 0.5 * decay[i]), 1e-7, 1e-7);
        const auto theta = m.parameters<2>();
        BOOST_REQUIRE_EQUAL(theta.size(), 1u);
        BOOST_CHECK_EQUAL(theta[0] == 0.8f, !decay_beta);
    }
}

BOOST_AUTO_TEST_CASE(nesterov_with_a_constant_gradient_over_three_steps) {
    // v₁ = g, v₂ = (1 + μ)g, v₃ = (1 + μ + μ²)g; each step moves p by lr·(g + μ·v_t):
    // p₃ = p₀ − lr·g·(3 + μ(1 + (1 + μ) + (1 + μ + μ²))) = p₀ − lr·g·(3 + 3μ + 2μ² + μ³).
    std::vector<float> p{1.f, -0.5f, 2.f, 0.f, 3.f}, g{0.25f, -1.f, 0.5f, 2.f, 0.f};
    const std::vector<float> p0 = p;
    const double lr = 0.125, mu = 0.5;
    sgd opt(p, g, {.learning_rate = 0.125f, .momentum = 0.5f, .nesterov = true});
    for (int k = 0; k < 3; ++k)
        opt.step();
    BOOST_CHECK_EQUAL(opt.step_count(), 3u);
    for (std::size_t i = 0; i < p.size(); ++i) {
        MASO_CHECK_CLOSE(opt.velocity()[i], (1 + mu + mu * mu) * g[i], 1e-7, 1);
        MASO_CHECK_CLOSE(p[i], p0[i] - lr * (3 + 3 * mu + 2 * mu * mu + mu * mu * mu) * g[i], 1e-7,
                         1);
    }
    BOOST_CHECK_EQUAL(p[4], 3.f); // a zero gradient and no decay: untouched
}

BOOST_AUTO_TEST_CASE(nesterov_and_weight_decay_over_three_training_steps) {
    auto m = instantiate(tiny, batch, fuse::all, {.seed = 11});
    const double lr = 0.05, mu = 0.9, wd = 0.01;
    sgd opt(m, {.learning_rate = 0.05f, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f});
    auto p = to_double(m.parameters());
    std::vector<double> v(p.size(), 0.0);
    const auto decay = decay_of(m, wd);
    for (int step = 0; step < 3; ++step) {
        compute_gradients(m, step);
        const auto g = to_double(m.gradients());
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double d = g[i] + decay[i] * p[i];
            v[i] = mu * v[i] + d;
            p[i] -= lr * (d + mu * v[i]);
        }
        opt.step();
        for (std::size_t i = 0; i < p.size(); ++i)
            MASO_CHECK_CLOSE(m.parameters()[i], p[i], 1e-5, 1e-3);
    }
}

BOOST_AUTO_TEST_CASE(the_learning_rate_can_change_between_steps) {
    std::vector<float> p{1.f, -1.f}, g{0.5f, 0.25f};
    sgd opt(p, g, {.learning_rate = 0.5f});
    opt.step(); // 1 − 0.25, −1 − 0.125
    opt.set_learning_rate(2.f);
    BOOST_CHECK_EQUAL(opt.learning_rate(), 2.0);
    opt.step(); // − 1, − 0.5
    BOOST_CHECK_EQUAL(p[0], -0.25f);
    BOOST_CHECK_EQUAL(p[1], -1.625f);
    BOOST_CHECK_THROW(opt.set_learning_rate(0.f), value_error);
    BOOST_CHECK_THROW(opt.set_learning_rate(std::numeric_limits<float>::infinity()), value_error);
    BOOST_CHECK_EQUAL(opt.learning_rate(), 2.0); // a refused rate changes nothing
}

BOOST_AUTO_TEST_CASE(the_state_is_named_per_parameter_for_checkpoints) {
    auto m = instantiate(tiny, batch);
    sgd plain(m, {.learning_rate = 0.1f});
    BOOST_CHECK(plain.state_dict().empty()); // no momentum, no state
    sgd opt(m, {.learning_rate = 0.1, .momentum = 0.5});
    const auto params = m.state_dict();
    const auto state = opt.state_dict();
    BOOST_REQUIRE_EQUAL(state.size(), params.size()); // tiny: weights, biases, a θ
    std::size_t total = 0;
    for (std::size_t k = 0; k < state.size(); ++k) {
        BOOST_CHECK_EQUAL(state[k].name, "optimizer.momentum_buffer." + params[k].name);
        BOOST_CHECK(state[k].shape == params[k].shape);
        BOOST_CHECK(state[k].kind == params[k].kind);
        BOOST_CHECK_EQUAL(state[k].value.size(), params[k].value.size());
        BOOST_CHECK(state[k].gradient.empty());
        total += state[k].value.size();
    }
    BOOST_CHECK_EQUAL(total, m.parameters().size());
    BOOST_CHECK_EQUAL(state[0].name, "optimizer.momentum_buffer.1.dense.weight");
    // Writing through a span sets the velocity the next step uses: v ← μ·v + g.
    state[0].value[0] = 2.f;
    m.zero_gradients();
    const float p0 = m.parameters()[0];
    opt.step();
    BOOST_CHECK_EQUAL(opt.velocity()[0], 1.f);
    BOOST_CHECK_EQUAL(m.parameters()[0], p0 - 0.1f);
    BOOST_CHECK_EQUAL(opt.step_count(), 1u);
    opt.set_step_count(41);
    BOOST_CHECK_EQUAL(opt.step_count(), 41u);
    BOOST_CHECK_EQUAL(opt.options_json(), "{\"learning_rate\":0.1,\"momentum\":0.5,\"nesterov\":"
                                          "false,\"weight_decay\":0,\"decay_beta\":false}");
}

BOOST_AUTO_TEST_CASE(a_step_is_bitwise_the_same_at_one_and_two_threads) {
    // Several blocks of the parameter buffer (train/detail/parameter_blocks.hpp), an odd tail.
    const std::size_t n = 5 * detail::update_block_size + 13;
    const auto p0 = maso_test::uniform_vector<float>(n, -2, 2);
    const auto g = maso_test::uniform_vector<float>(n, -1, 1);
    maso_test::thread_count_guard guard;
    std::vector<std::vector<float>> result;
    for (const std::size_t threads : {1u, 2u}) {
        set_num_threads(threads);
        std::vector<float> p = p0;
        sgd opt(p, g,
                {.learning_rate = 0.03f, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.1f});
        for (int k = 0; k < 3; ++k)
            opt.step();
        result.push_back(p);
    }
    BOOST_CHECK(result[0] == result[1]);
    BOOST_CHECK(result[0] != p0);
}
