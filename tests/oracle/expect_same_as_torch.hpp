// tests/oracle/expect_same_as_torch.hpp — one call runs a network in maso and in libtorch.
//
// expect_same_as_torch(net) instantiates the network four times — double and float, fuse::all
// and fuse::none — gives every tensor random values through model::state_dict() (weights,
// biases, batch-norm γ, β and running statistics, the θ of every learnable β, one θ per
// channel apart from its neighbours), describes the network node by node to
// torch_reference.cpp, which builds it from libtorch's operators, and compares:
//   * the output (class probabilities for a loss node) and the loss;
//   * every parameter gradient, dθ included (autograd on the libtorch side), and ∂L/∂input;
//   * batch norm's running statistics after the forward pass (moved in training mode).
// Double: |maso − torch| ≤ 1e-9 · max(|maso|, |torch|, 1e-4 · s) + 1e-13 · g, with s the
// largest magnitude in that tensor and g the largest parameter gradient of the network.
// Float: |maso − torch| ≤ 1e-4 · max(s, 1e-2 · g), both sides computing in float from the
// same float values. The floors in g are for gradients that cancel to rounding noise — a
// bias or a γ that a following batch norm removes has a gradient of 0 in exact arithmetic,
// and both sides return noise of the size of the terms they sum; in float that is about
// 1e-6 · g, the floor tests/support/maso_test/expect_gradients.hpp uses too.
// A network without a loss node is compared on L = Σ w ⊙ output with random w.
#pragma once

#include "torch_reference.hpp"

#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace maso_oracle {

struct options {
    std::size_t batch = 3;
    std::uint64_t seed = 5;
    maso::mode mode = maso::mode::training;
    double input_lo = -1.5, input_hi = 1.5;
};

// ---- maso's nodes as node_specs -----------------------------------------------------------
// One overload per node kind; a node with none stops compilation (the fallback's
// static_assert), so a new kind cannot be left out of the oracle silently. In is the
// node's input shape, T the model's precision (a fixed β's η is computed as maso computes it).

/// η, learnable or not, and whether the node takes the hard path.
template <class T>
eta_spec eta_of(const maso::beta_spec& b, bool hard = false) {
    eta_spec e;
    e.learnable = b.learnable;
    e.per_channel = b.per_channel;
    const auto fixed = maso::vq::basic_beta<T>::from_beta(T(b.value));
    e.hard = hard || (!b.learnable && fixed.is_hard());
    e.eta = double(fixed.eta());
    return e;
}

template <class T, class In, class Node>
node_spec spec_of(const Node&) {
    static_assert(sizeof(Node) == 0, "oracle: this node kind has no libtorch translation");
    return {};
}
/// A spec of this kind, every other field at its default.
inline node_spec spec(op kind) {
    node_spec s;
    s.kind = kind;
    return s;
}
template <class T, class In, std::size_t N, bool Bias>
node_spec spec_of(const maso::dense_node<N, Bias>&) {
    node_spec s = spec(op::dense);
    s.out_channels = N;
    s.bias = Bias;
    return s;
}
template <class T, class In, std::size_t Cout, std::size_t K, std::size_t S, maso::padding P,
          bool Bias>
node_spec spec_of(const maso::conv2d_node<Cout, K, S, P, Bias>&) {
    node_spec s = spec(op::conv2d);
    s.out_channels = Cout;
    s.kernel = K;
    s.stride = S;
    s.padding = P == maso::padding::same ? K / 2 : 0;
    s.bias = Bias;
    return s;
}
template <class T, class In, class U, bool Hard>
node_spec spec_of(const maso::vq_node<U, Hard>& n) {
    node_spec s = spec(op::beta_vq);
    s.beta = eta_of<T>(n.beta, Hard);
    if constexpr (std::is_same_v<U, maso::relu>) {
        s.u = unit::relu;
    } else if constexpr (std::is_same_v<U, maso::leaky_relu>) {
        s.u = unit::leaky_relu;
        s.slope = double(T(n.unit.negative_slope())); // the slope maso computes with
    } else {
        static_assert(std::is_same_v<U, maso::absolute>, "oracle: unknown unit");
        s.u = unit::absolute;
    }
    return s;
}
/// Pools over K×K windows: max, average and β-softmax.
template <class T, class In, std::size_t K>
node_spec spec_of(const maso::maxpool_node<K>&) {
    node_spec s = spec(op::maxpool);
    s.kernel = K;
    return s;
}
template <class T, class In, std::size_t K>
node_spec spec_of(const maso::avgpool_node<K>&) {
    node_spec s = spec(op::avgpool);
    s.kernel = K;
    return s;
}
template <class T, class In, std::size_t K>
node_spec spec_of(const maso::softpool_node<K>& n) {
    node_spec s = spec(op::softpool);
    s.kernel = K;
    s.beta = eta_of<T>(n.beta);
    return s;
}
template <class T, class In>
node_spec spec_of(const maso::global_avgpool_node&) {
    return spec(op::global_avgpool);
}
template <class T, class In>
node_spec spec_of(const maso::global_softpool_node& n) {
    node_spec s = spec(op::global_softpool);
    s.beta = eta_of<T>(n.beta);
    return s;
}
template <class T, class In, std::size_t K>
node_spec spec_of(const maso::maxout_node<K>& n) {
    node_spec s = spec(op::maxout);
    s.out_channels = In::channels / K;
    s.beta = eta_of<T>(n.beta);
    return s;
}
template <class T, class In>
node_spec spec_of(const maso::batch_norm_node& n) {
    node_spec s = spec(op::batch_norm);
    s.momentum = double(T(n.momentum)); // the values the layer computes with
    s.eps = double(T(n.eps));
    return s;
}
template <class T, class In>
node_spec spec_of(const maso::flatten_node&) {
    return spec(op::flatten);
}
template <class T, class In>
node_spec spec_of(const maso::soft_output_node<maso::vq::sigmoid_output>& n) {
    node_spec s = spec(op::sigmoid);
    s.beta = eta_of<T>(n.beta);
    return s;
}
template <class T, class In>
node_spec spec_of(const maso::soft_output_node<maso::vq::tanh_output>& n) {
    node_spec s = spec(op::tanh);
    s.beta = eta_of<T>(n.beta);
    return s;
}
template <class T, class In>
node_spec spec_of(const maso::softmax_node& n) {
    node_spec s = spec(op::softmax);
    s.beta = eta_of<T>(n.beta);
    return s;
}
template <class T, class In>
node_spec spec_of(const maso::softmax_cross_entropy_node&) {
    return spec(op::softmax_cross_entropy);
}

/// Every node after the input, in order.
template <class T, class Net>
std::vector<node_spec> specs_of(const Net& net) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::vector<node_spec>{
            spec_of<T, maso::plan::output_shape_t<Net, I>>(maso::get<I + 1>(net.nodes))...};
    }
    (std::make_index_sequence<Net::size - 1>{});
}

// ---- comparison -----------------------------------------------------------------------------

struct tolerance {
    bool single;
    double gradient_scale; ///< the largest parameter gradient of the network (torch's)

    /// The largest |a − b| accepted between two entries of a tensor whose scale is s.
    double allowed(double a, double b, double s) const {
        if (single) return 1e-4 * std::max(s, 1e-2 * gradient_scale);
        return 1e-9 * std::max({std::fabs(a), std::fabs(b), 1e-4 * s}) + 1e-13 * gradient_scale;
    }
    bool close(double a, double b, double s) const {
        return std::isfinite(a) && std::isfinite(b) && std::fabs(a - b) <= allowed(a, b, s);
    }
};

inline double largest(const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
        s = std::max(s, std::fabs(x));
    return s;
}

/// maso's tensor against libtorch's; one failure per tensor (its worst entry), not per entry.
/// Returns the largest |maso − torch| / allowed difference over the tensor (≤ 1 passes).
inline double expect_close(const std::string& what, const std::vector<double>& ours,
                           const std::vector<double>& theirs, const tolerance& tol) {
    double margin = 0;
    BOOST_TEST_CONTEXT(what) {
        BOOST_REQUIRE_EQUAL(ours.size(), theirs.size());
        const double s = largest(theirs);
        std::size_t bad = 0, count = 0;
        double worst = -1;
        for (std::size_t i = 0; i < ours.size(); ++i) {
            const double d = std::fabs(ours[i] - theirs[i]);
            margin = std::max(margin, d / std::max(tol.allowed(ours[i], theirs[i], s), 1e-300));
            if (!tol.close(ours[i], theirs[i], s)) {
                ++count;
                if (!(d <= worst)) {
                    worst = d;
                    bad = i;
                }
            }
        }
        BOOST_CHECK_MESSAGE(count == 0, what << ": " << count << " of " << ours.size()
                                             << " entries differ; worst at [" << bad << "]: maso "
                                             << std::setprecision(17) << ours[bad] << ", libtorch "
                                             << theirs[bad] << " (tensor scale " << s << ")");
    }
    return margin;
}

template <class T>
std::vector<double> as_doubles(std::span<const T> v) {
    return {v.begin(), v.end()};
}

/// Random values for a tensor of this kind, drawn in double and rounded to T.
template <class T>
void randomise(maso::parameter_ref<T>& t, std::mt19937_64& rng) {
    auto uniform = [&](double lo, double hi) {
        return T(std::uniform_real_distribution<double>(lo, hi)(rng));
    };
    // fan-in: the product of the shape after the first extent (a weight's rows)
    std::size_t fan_in = 1;
    for (std::size_t d = 1; d < t.shape.size(); ++d)
        fan_in *= t.shape[d];
    const double w = std::sqrt(3.0 / double(fan_in));
    for (T& v : t.value) {
        switch (t.kind) {
        case maso::parameter_kind::weight:
            v = uniform(-w, w);
            break;
        case maso::parameter_kind::bias:
        case maso::parameter_kind::shift:
        case maso::parameter_kind::running_mean:
            v = uniform(-0.5, 0.5);
            break;
        case maso::parameter_kind::scale:
            v = uniform(0.5, 1.5);
            break;
        case maso::parameter_kind::running_var:
            v = uniform(0.5, 2.0);
            break;
        case maso::parameter_kind::beta: // around the θ it was given: β's neighbourhood
            v = T(v + uniform(-0.5, 0.5));
            break;
        }
    }
}

// ---- one precision, one policy --------------------------------------------------------------

template <class T, class Policy, class Net>
void compare_once(const Net& net, const options& o) {
    using model_t = maso::model<Net, Policy, T>;
    using In = typename model_t::input_shape;
    using Out = typename model_t::output_shape;
    constexpr bool single = std::is_same_v<T, float>;
    const std::size_t batch = o.batch;

    model_t m(net, batch, {.seed = o.seed});
    m.enable_input_gradient();
    m.set_mode(o.mode);

    problem p;
    p.batch = batch;
    p.channels = In::channels;
    p.height = In::height;
    p.width = In::width;
    p.nodes = specs_of<T>(net);
    p.training = o.mode == maso::mode::training;
    p.single = single;

    // The same draws in both precisions: every tensor from its own generator, seeded by
    // the options' seed and the tensor's place.
    auto state = m.state_dict();
    for (std::size_t k = 0; k < state.size(); ++k) {
        auto& t = state[k];
        std::mt19937_64 rng(o.seed * 1000003u + k);
        randomise(t, rng);
        p.tensors.push_back({t.name, t.shape, as_doubles<T>(t.value), maso::is_trainable(t.kind)});
        const std::string prefix = t.name.substr(0, t.name.rfind('.') + 1);
        const std::size_t node = std::stoul(t.name.substr(0, t.name.find('.')));
        p.nodes[node - 1].prefix = prefix;
    }

    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> pixel(o.input_lo, o.input_hi), weight(-1, 1);
    std::vector<T> x(In::size * batch), w;
    for (T& v : x)
        v = T(pixel(rng));
    p.input = as_doubles<T>(x);
    if constexpr (model_t::has_loss) {
        for (std::size_t n = 0; n < batch; ++n)
            p.labels.push_back(int((3 * n + 1) % Out::channels));
    } else {
        w.resize(Out::size * batch);
        for (T& v : w)
            v = T(weight(rng));
        p.weight = as_doubles<T>(w);
    }

    // maso
    m.zero_gradients();
    std::vector<T> y(Out::size * batch), dx(In::size * batch);
    double loss = double(m.forward(x, p.labels));
    m.output(y);
    if constexpr (model_t::has_loss) {
        m.backward();
    } else {
        m.backward(w);
        loss = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            loss += double(w[i]) * double(y[i]);
    }
    m.input_gradient(dx);

    // libtorch
    const result r = run_torch(p);

    double g = 0;
    for (const auto& [name, grad] : r.gradients)
        g = std::max(g, largest(grad));
    const tolerance tol{single, g};
    double margin = 0;
    std::string closest;
    auto check = [&](const std::string& what, const std::vector<double>& ours,
                     const std::vector<double>& theirs) {
        const double e = expect_close(what, ours, theirs, tol);
        if (e >= margin) {
            margin = e;
            closest = what;
        }
    };
    check("loss", {loss}, {r.loss});
    check("output", as_doubles<T>(y), r.output);
    check("input gradient", as_doubles<T>(dx), r.input_gradient);
    for (const auto& t : m.state_dict()) {
        if (maso::is_trainable(t.kind))
            check(t.name + " gradient", as_doubles<T>(t.gradient), r.gradients.at(t.name));
        else
            check(t.name + " after forward", as_doubles<T>(t.value), r.state.at(t.name));
    }
    // How close to the tolerance the closest call came: the log of a passing run says how
    // much room the bounds leave (run with --log_level=message).
    BOOST_TEST_MESSAGE(
        (single ? "float" : "double")
        << (std::is_same_v<Policy, maso::fuse::all_t> ? ", fuse::all" : ", fuse::none")
        << ": largest difference / tolerance = " << margin << " (" << closest << ")");
}

/// The network against libtorch in double and in float, fused and unfused.
template <class Net>
void expect_same_as_torch(const Net& net, const options& o = {}) {
    BOOST_TEST_CONTEXT("double, fuse::all") compare_once<double, maso::fuse::all_t>(net, o);
    BOOST_TEST_CONTEXT("double, fuse::none") compare_once<double, maso::fuse::none_t>(net, o);
    BOOST_TEST_CONTEXT("float, fuse::all") compare_once<float, maso::fuse::all_t>(net, o);
    BOOST_TEST_CONTEXT("float, fuse::none") compare_once<float, maso::fuse::none_t>(net, o);
}

} // namespace maso_oracle
