// Tests of include/maso/train/adam.hpp: Adam with bias correction (PyTorch's), without it
// (the paper authors'), with L2 and with decoupled weight decay (AdamW), each against steps
// computed by hand in double; closed forms for a constant gradient; θ left out of weight
// decay unless asked; refused options; the state named for checkpoints; bitwise equal steps
// at 1 and 2 threads; no allocation in step().
#include <maso/maso.hpp>
#include <maso/train/adam.hpp>

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

/// Whether each parameter is the θ of a learnable β (tiny has exactly one).
template <class Model>
std::vector<bool> is_theta(Model& m) {
    std::vector<bool> t(m.parameters().size(), false);
    for (const auto& p : m.state_dict())
        if (p.kind == parameter_kind::beta)
            for (std::size_t i = 0; i < p.value.size(); ++i)
                t[std::size_t(p.value.data() - m.parameters().data()) + i] = true;
    BOOST_REQUIRE_EQUAL(std::count(t.begin(), t.end(), true), 1);
    return t;
}

/// Adam in double, written from the algorithm's published form (Kingma & Ba, Algorithm 1,
/// with PyTorch's placement of ε and of the two kinds of weight decay).
struct reference_adam {
    double lr, b1, b2, eps, wd;
    bool decoupled, correct;
    std::vector<double> m, u;
    int t = 0;

    void step(std::vector<double>& p, const std::vector<double>& g0, const std::vector<bool>& theta,
              bool decay_beta = false) {
        if (m.empty()) m.assign(p.size(), 0), u.assign(p.size(), 0);
        ++t;
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double w = theta[i] && !decay_beta ? 0 : wd;
            double g = g0[i];
            if (decoupled)
                p[i] *= 1 - lr * w;
            else
                g += w * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            u[i] = b2 * u[i] + (1 - b2) * g * g;
            const double mhat = correct ? m[i] / (1 - std::pow(b1, t)) : m[i];
            const double uhat = correct ? u[i] / (1 - std::pow(b2, t)) : u[i];
            p[i] -= lr * mhat / (std::sqrt(uhat) + eps);
        }
    }
};

/// Three training steps of `opt` on a fresh tiny model against the reference.
void check_three_steps(adam_options o, reference_adam ref, int seed) {
    auto m = instantiate(tiny, batch, fuse::all, {.seed = std::uint64_t(seed)});
    adam opt(m, o);
    auto p = to_double(m.parameters());
    const auto theta = is_theta(m);
    for (int step = 0; step < 3; ++step) {
        compute_gradients(m, step + seed);
        ref.step(p, to_double(m.gradients()), theta, o.decay_beta);
        opt.step();
        BOOST_REQUIRE_EQUAL(opt.step_count(), std::uint64_t(step + 1));
        for (std::size_t i = 0; i < p.size(); ++i) {
            // The scale: a step moves p by about lr, whatever the gradient's size.
            MASO_CHECK_CLOSE(m.parameters()[i], p[i], 1e-5, std::fabs(p[i]) + 10 * ref.lr);
            MASO_CHECK_CLOSE(opt.exp_avg()[i], ref.m[i], 1e-5, 1e-4);
            MASO_CHECK_CLOSE(opt.exp_avg_sq()[i], ref.u[i], 1e-5, 1e-6);
        }
    }
}

std::string refusal(adam_options o) {
    std::vector<float> p(3), g(3);
    try {
        adam opt(p, g, o);
    } catch (const value_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(the_first_corrected_step_moves_each_parameter_by_lr_against_its_gradient) {
    // m̂₁ = g and û₁ = g², so the step is lr·g/(|g| + ε): lr·sign(g) for |g| ≫ ε.
    std::vector<float> p{1.f, -2.f, 0.5f, 3.f}, g{0.25f, -4.f, 1e-3f, 0.f};
    adam opt(p, g, {.learning_rate = 0.01f});
    opt.step();
    MASO_CHECK_CLOSE(p[0], 1 - 0.01, 1e-6, 1);
    MASO_CHECK_CLOSE(p[1], -2 + 0.01, 1e-6, 1);
    MASO_CHECK_CLOSE(p[2], 0.5 - 0.01 * 1e-3 / (1e-3 + 1e-8), 1e-6, 1);
    BOOST_CHECK_EQUAL(p[3], 3.f); // g = 0: m = 0, no move
}

BOOST_AUTO_TEST_CASE(the_authors_adam_with_a_constant_gradient) {
    // Without bias correction: m_t = (1 − β₁ᵗ)·g, u_t = (1 − β₂ᵗ)·g², and step t moves p by
    // lr·m_t/(√u_t + ε) — at t = 1 that is lr·0.1g/(√0.001·|g| + ε), about 3.16·lr·sign(g).
    std::vector<float> p{1.f, -2.f, 0.5f, 0.f}, g{0.5f, -2.f, 1e-3f, 0.f};
    const std::vector<float> p0 = p;
    const double lr = 0.002;
    adam opt(p, g, {.learning_rate = 0.002f, .bias_correction = false});
    std::vector<double> expected(p0.begin(), p0.end());
    for (int t = 1; t <= 4; ++t) {
        opt.step();
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double m = (1 - std::pow(0.9, t)) * g[i];
            const double u = (1 - std::pow(0.999, t)) * double(g[i]) * g[i];
            expected[i] -= lr * m / (std::sqrt(u) + 1e-8);
            MASO_CHECK_CLOSE(p[i], expected[i], 1e-6, 1);
            MASO_CHECK_CLOSE(opt.exp_avg()[i], m, 1e-6, 1e-6);
        }
        // The first step of a large gradient is 0.1/√0.001 = √10 learning rates.
        if (t == 1) MASO_CHECK_CLOSE((p0[1] - p[1]) / lr, -std::sqrt(10.0), 1e-5, 1);
    }
    BOOST_CHECK_EQUAL(p[3], 0.f);
}

BOOST_AUTO_TEST_CASE(adam_with_bias_correction_and_l2_decay_over_three_training_steps) {
    check_three_steps({.learning_rate = 0.01f, .weight_decay = 0.05f},
                      {0.01, 0.9, 0.999, 1e-8, 0.05, false, true, {}, {}}, 1);
}

BOOST_AUTO_TEST_CASE(the_authors_adam_over_three_training_steps) {
    check_three_steps({.learning_rate = 0.001f, .bias_correction = false},
                      {0.001, 0.9, 0.999, 1e-8, 0, false, false, {}, {}}, 2);
}

BOOST_AUTO_TEST_CASE(adamw_over_three_training_steps) {
    check_three_steps({.learning_rate = 0.01f,
                       .beta1 = 0.8f,
                       .beta2 = 0.99f,
                       .epsilon = 1e-6f,
                       .weight_decay = 0.1f,
                       .decoupled_weight_decay = true},
                      {0.01, 0.8, 0.99, 1e-6, 0.1, true, true, {}, {}}, 3);
}

BOOST_AUTO_TEST_CASE(adamw_decaying_theta_when_asked) {
    check_three_steps({.learning_rate = 0.01f,
                       .weight_decay = 0.1f,
                       .decoupled_weight_decay = true,
                       .decay_beta = true},
                      {0.01, 0.9, 0.999, 1e-8, 0.1, true, true, {}, {}}, 4);
}

BOOST_AUTO_TEST_CASE(decoupled_decay_alone_shrinks_p_and_leaves_theta) {
    // Zero gradients: m and u stay 0, the Adam update is 0/ε = 0, and only the decay acts:
    // p ← p·(1 − lr·wd), except θ.
    for (const bool decay_beta : {false, true}) {
        auto m = instantiate(tiny, batch, fuse::all, {.seed = 7});
        m.parameters<2>()[0] = 0.8f;
        m.zero_gradients();
        const auto p0 = to_double(m.parameters());
        const auto theta = is_theta(m);
        adam opt(m, {.learning_rate = 0.5f,
                     .weight_decay = 0.25f,
                     .decoupled_weight_decay = true,
                     .decay_beta = decay_beta});
        opt.step();
        for (std::size_t i = 0; i < p0.size(); ++i) {
            const double factor = theta[i] && !decay_beta ? 1 : 1 - 0.5 * 0.25;
            MASO_CHECK_CLOSE(m.parameters()[i], p0[i] * factor, 1e-7, 1e-7);
        }
        BOOST_CHECK_EQUAL(m.parameters<2>()[0] == 0.8f, !decay_beta);
    }
}

BOOST_AUTO_TEST_CASE(l2_decay_goes_through_the_moments_decoupled_does_not) {
    // With g = 0 and L2 decay the decay term wd·p is the gradient Adam normalises: the first
    // corrected step moves p by lr·sign(p). Decoupled, it moves p by lr·wd·p.
    std::vector<float> p{2.f, -4.f}, g{0.f, 0.f};
    adam l2(p, g, {.learning_rate = 0.01f, .weight_decay = 0.1f});
    l2.step();
    MASO_CHECK_CLOSE(p[0], 2 - 0.01, 1e-6, 1);
    MASO_CHECK_CLOSE(p[1], -4 + 0.01, 1e-6, 1);
    std::vector<float> q{2.f, -4.f};
    adam w(q, g, {.learning_rate = 0.01f, .weight_decay = 0.1f, .decoupled_weight_decay = true});
    w.step();
    MASO_CHECK_CLOSE(q[0], 2 * (1 - 0.001), 1e-6, 1);
    MASO_CHECK_CLOSE(q[1], -4 * (1 - 0.001), 1e-6, 1);
}

BOOST_AUTO_TEST_CASE(the_learning_rate_can_change_between_steps) {
    std::vector<float> p{1.f}, g{1.f};
    adam opt(p, g, {.learning_rate = 0.01f});
    opt.step(); // lr·1: 0.99
    opt.set_learning_rate(0.1f);
    opt.step(); // m̂ = g, û = g² again: 0.1 more
    MASO_CHECK_CLOSE(p[0], 1 - 0.01 - 0.1, 1e-6, 1);
    BOOST_CHECK_THROW(opt.set_learning_rate(-1.f), value_error);
    BOOST_CHECK_EQUAL(opt.learning_rate(), 0.1f);
}

BOOST_AUTO_TEST_CASE(the_step_count_drives_the_bias_correction) {
    // An optimiser restored at t = 10 (state and count) takes step 11 as one that never stopped.
    std::vector<float> g{0.5f, -0.25f, 2.f};
    std::vector<float> a{1.f, 2.f, 3.f};
    adam straight(a, g, {.learning_rate = 0.01f});
    for (int k = 0; k < 11; ++k)
        straight.step();
    std::vector<float> b{1.f, 2.f, 3.f};
    adam first(b, g, {.learning_rate = 0.01f});
    for (int k = 0; k < 10; ++k)
        first.step();
    adam resumed(b, g, {.learning_rate = 0.01f});
    auto from = first.state_dict(), to = resumed.state_dict();
    BOOST_REQUIRE_EQUAL(from.size(), 2u);
    BOOST_CHECK_EQUAL(to[0].name, "optimizer.exp_avg.parameters");
    BOOST_CHECK_EQUAL(to[1].name, "optimizer.exp_avg_sq.parameters");
    for (std::size_t k = 0; k < from.size(); ++k)
        std::copy(from[k].value.begin(), from[k].value.end(), to[k].value.begin());
    resumed.set_step_count(first.step_count());
    resumed.step();
    BOOST_CHECK(a == b);
    BOOST_CHECK_EQUAL(resumed.step_count(), 11u);
}

BOOST_AUTO_TEST_CASE(the_state_is_named_per_parameter_for_checkpoints) {
    auto m = instantiate(tiny, batch);
    adam opt(m, {.learning_rate = 0.001, .bias_correction = false});
    const auto params = m.state_dict();
    const auto state = opt.state_dict();
    BOOST_REQUIRE_EQUAL(state.size(), 2 * params.size());
    for (std::size_t k = 0; k < params.size(); ++k) {
        BOOST_CHECK_EQUAL(state[k].name, "optimizer.exp_avg." + params[k].name);
        BOOST_CHECK_EQUAL(state[params.size() + k].name, "optimizer.exp_avg_sq." + params[k].name);
        BOOST_CHECK(state[k].shape == params[k].shape);
        BOOST_CHECK_EQUAL(state[k].value.data() - opt.exp_avg().data(),
                          params[k].value.data() - m.parameters().data());
    }
    BOOST_CHECK_EQUAL(state[0].name, "optimizer.exp_avg.1.dense.weight");
    BOOST_CHECK(state[0].shape == (std::vector<std::size_t>{3, 4}));
    BOOST_CHECK_EQUAL(opt.options_json(),
                      "{\"learning_rate\":0.001,\"beta1\":0.9,\"beta2\":0.999,\"epsilon\":1e-08,"
                      "\"weight_decay\":0,\"decoupled_weight_decay\":false,\"bias_correction\":"
                      "false,\"decay_beta\":false}");
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused_naming_the_option_and_value) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    struct bad {
        adam_options o;
        const char* text;
    };
    const std::vector<bad> cases{
        {{.learning_rate = 0}, "learning_rate = 0 must be finite and positive"},
        {{.learning_rate = nan}, "learning_rate = nan "},
        {{.learning_rate = inf}, "learning_rate = inf "},
        {{.beta1 = 1.f}, "beta1 = 1 is outside [0, 1)"},
        {{.beta1 = -0.5f}, "beta1 = -0.5 "},
        {{.beta1 = nan}, "beta1 = nan "},
        {{.beta2 = 1.f}, "beta2 = 1 is outside [0, 1)"},
        {{.beta2 = 2.f}, "beta2 = 2 "},
        {{.epsilon = 0.f}, "epsilon = 0 must be finite and positive"},
        {{.epsilon = inf}, "epsilon = inf "},
        {{.weight_decay = -1.f}, "weight_decay = -1 must be finite and non-negative"},
        {{.weight_decay = inf}, "weight_decay = inf "},
    };
    for (const auto& c : cases) {
        const std::string m = refusal(c.o);
        BOOST_CHECK_MESSAGE(m.find(std::string("maso: adam: ") + c.text) != std::string::npos,
                            "expected \"" << c.text << "\" in \"" << m << "\"");
    }
    BOOST_CHECK_EQUAL(refusal({.beta1 = 0.f, .beta2 = 0.f}), "");
    BOOST_CHECK_EQUAL(refusal({.beta1 = 0.999f, .beta2 = 0.9999f, .epsilon = 1e-30f}), "");
    std::vector<float> p(3), g(4);
    BOOST_CHECK_THROW(adam(p, g), size_error);
}

BOOST_AUTO_TEST_CASE(a_step_is_bitwise_the_same_at_one_and_two_threads) {
    const std::size_t n = 5 * detail::update_block_size + 13;
    const auto p0 = maso_test::uniform_vector<float>(n, -2, 2);
    const auto g = maso_test::uniform_vector<float>(n, -1, 1);
    maso_test::thread_count_guard guard;
    for (const bool decoupled : {false, true}) {
        std::vector<std::vector<float>> result;
        for (const std::size_t threads : {1u, 2u}) {
            set_num_threads(threads);
            std::vector<float> p = p0;
            adam opt(p, g,
                     {.learning_rate = 0.01f,
                      .weight_decay = 0.1f,
                      .decoupled_weight_decay = decoupled});
            for (int k = 0; k < 3; ++k)
                opt.step();
            result.push_back(p);
            result.push_back({opt.exp_avg_sq().begin(), opt.exp_avg_sq().end()});
        }
        BOOST_CHECK(result[0] == result[2]);
        BOOST_CHECK(result[1] == result[3]);
        BOOST_CHECK(result[0] != p0);
    }
}

BOOST_AUTO_TEST_CASE(no_allocation_in_step) {
    auto m = instantiate(tiny, batch);
    adam opt(m, {.learning_rate = 0.01f, .weight_decay = 1e-4f});
    compute_gradients(m, 1);
    opt.step(); // the pool starts its threads at its first multi-threaded call
    const long before = maso_test::allocations();
    for (int k = 0; k < 3; ++k)
        opt.step();
    BOOST_CHECK_EQUAL(maso_test::allocations() - before, 0);
}
