// tests/oracle/torch_reference.cpp — the libtorch side of the oracle tests.
//
// Each node is built from libtorch's own operators, as a PyTorch user would write it, and
// autograd gives every gradient (dθ of a learnable β included): nothing here reuses maso's
// formulas beyond their definitions (paper-spec §3–§4, docs/dsl.md):
//
//   beta_vq<relu>        z·σ(ηz)                      hard: relu(z)
//   beta_vq<leaky_relu>  z·(a + (1−a)·σ(η(1−a)z))      hard: leaky_relu(z, a)
//   beta_vq<absolute>    z·tanh(ηz)                   hard: |z|
//   softpool<K>, global_softpool, maxout<K>(β):  Σ softmax(η·v)·v over each window v
//   sigmoid, tanh, softmax:  σ(ηz), tanh(ηz), softmax(ηz)
//
// with η = e^θ for a learnable β (θ a leaf tensor: {1} per layer, {C} per channel,
// broadcast over the batch and the map). Activations stay 4-D, [N][C][H][W], a vector
// being [N][C][1][1], so that one broadcast shape {1, C, 1, 1} serves maps and vectors.
#include "torch_reference.hpp"

#include <torch/torch.h>

#include <stdexcept>

namespace maso_oracle {
namespace {

using torch::Tensor;

std::vector<std::int64_t> dims(const std::vector<std::size_t>& shape) {
    return {shape.begin(), shape.end()};
}

std::vector<double> values(const Tensor& t) {
    const Tensor d = t.detach().to(torch::kDouble).contiguous();
    return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

struct network {
    const problem& p;
    torch::Dtype dtype;
    std::map<std::string, Tensor> tensors;

    Tensor at(const node_spec& n, const char* name) const {
        const auto it = tensors.find(n.prefix + name);
        if (it == tensors.end()) throw std::runtime_error("oracle: no tensor " + n.prefix + name);
        return it->second;
    }

    /// η broadcast over `rank` dimensions with the channels (or groups) at dimension 1.
    Tensor eta(const node_spec& n, std::int64_t rank) const {
        if (!n.beta.learnable) return torch::full({1}, n.beta.eta, torch::dtype(dtype));
        std::vector<std::int64_t> shape(std::size_t(rank), 1);
        const Tensor theta = at(n, "theta");
        if (n.beta.per_channel) shape[1] = theta.numel();
        return theta.exp().view(shape);
    }

    /// Σ softmax(η·v)·v along `dim` (β-softmax pooling); the max when hard.
    Tensor soft_max(const node_spec& n, const Tensor& v, std::int64_t dim) const {
        if (n.beta.hard) return std::get<0>(v.max(dim));
        return (torch::softmax(eta(n, v.dim()) * v, dim) * v).sum(dim);
    }

    /// K×K windows of a map as the last dimension: [N][C][H/K][W/K][K·K], row-major inside.
    static Tensor windows(const Tensor& x, std::int64_t k) {
        const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        return x.view({n, c, h / k, k, w / k, k})
            .permute({0, 1, 2, 4, 3, 5})
            .reshape({n, c, h / k, w / k, k * k});
    }

    Tensor unit(const node_spec& n, const Tensor& z) const {
        const double a = n.slope;
        switch (n.u) {
        case unit::relu:
            return n.beta.hard ? torch::relu(z) : z * torch::sigmoid(eta(n, 4) * z);
        case unit::leaky_relu:
            return n.beta.hard ? torch::leaky_relu(z, a)
                               : z * (a + (1 - a) * torch::sigmoid(eta(n, 4) * (1 - a) * z));
        case unit::absolute:
            return n.beta.hard ? torch::abs(z) : z * torch::tanh(eta(n, 4) * z);
        }
        throw std::runtime_error("oracle: unknown unit");
    }

    Tensor node(const node_spec& n, const Tensor& x) const {
        const auto k = std::int64_t(n.kernel);
        switch (n.kind) {
        case op::dense: {
            Tensor y = torch::matmul(x.flatten(1), at(n, "weight").t());
            if (n.bias) y = y + at(n, "bias");
            return y.view({y.size(0), y.size(1), 1, 1});
        }
        case op::conv2d:
            return torch::conv2d(x, at(n, "weight"), n.bias ? at(n, "bias") : Tensor(),
                                 std::int64_t(n.stride), std::int64_t(n.padding));
        case op::beta_vq:
            return unit(n, x);
        case op::maxpool:
            return torch::max_pool2d(x, k);
        case op::avgpool:
            return torch::avg_pool2d(x, k);
        case op::softpool:
            return n.beta.hard ? torch::max_pool2d(x, k) : soft_max(n, windows(x, k), 4);
        case op::global_avgpool:
            return x.mean({2, 3}, /*keepdim=*/true);
        case op::global_softpool:
            return soft_max(n, x.flatten(2), 2).view({x.size(0), x.size(1), 1, 1});
        case op::maxout: {
            const std::int64_t g = std::int64_t(n.out_channels);
            return soft_max(n, x.view({x.size(0), g, x.size(1) / g, x.size(2), x.size(3)}), 2);
        }
        case op::batch_norm:
            return torch::batch_norm(x, at(n, "weight"), at(n, "bias"), at(n, "running_mean"),
                                     at(n, "running_var"), p.training, n.momentum, n.eps,
                                     /*cudnn_enabled=*/false);
        case op::flatten:
            return x.flatten(1).view({x.size(0), -1, 1, 1});
        // β = 1: the hard readouts, a step, the sign and the one-hot argmax (ties sharing
        // the mass), none with a gradient.
        case op::sigmoid:
            return n.beta.hard ? (x > 0).to(dtype) : torch::sigmoid(eta(n, 4) * x);
        case op::tanh:
            return n.beta.hard ? torch::sign(x).detach() : torch::tanh(eta(n, 4) * x);
        case op::softmax: {
            if (!n.beta.hard) return torch::softmax(eta(n, 4) * x, 1);
            const Tensor top = (x == std::get<0>(x.max(1, /*keepdim=*/true))).to(dtype);
            return (top / top.sum(1, /*keepdim=*/true)).detach();
        }
        case op::softmax_cross_entropy:
            return x; // the loss is taken by run_torch
        }
        throw std::runtime_error("oracle: unknown node kind");
    }
};

} // namespace

result run_torch(const problem& p) {
    const torch::Dtype dtype = p.single ? torch::kFloat : torch::kDouble;
    network net{p, dtype, {}};
    for (const tensor_spec& t : p.tensors) {
        Tensor v = torch::tensor(t.value, torch::dtype(torch::kDouble)).view(dims(t.shape));
        v = v.to(dtype).clone();
        if (t.trainable) v.requires_grad_(true);
        net.tensors.emplace(t.name, v);
    }
    const auto n = std::int64_t(p.batch);
    const Tensor x =
        torch::tensor(p.input, torch::dtype(torch::kDouble))
            .view({n, std::int64_t(p.channels), std::int64_t(p.height), std::int64_t(p.width)})
            .to(dtype)
            .clone()
            .requires_grad_(true);
    Tensor y = x;
    for (const node_spec& s : p.nodes)
        y = net.node(s, y);

    result r;
    Tensor loss;
    if (!p.nodes.empty() && p.nodes.back().kind == op::softmax_cross_entropy) {
        const Tensor z = y.flatten(1);
        const Tensor labels =
            torch::tensor(std::vector<std::int64_t>(p.labels.begin(), p.labels.end()));
        loss = torch::nn::functional::cross_entropy(z, labels);
        r.output = values(torch::softmax(z, 1));
    } else {
        const Tensor w = torch::tensor(p.weight, torch::dtype(torch::kDouble)).to(dtype);
        loss = (y.flatten() * w).sum();
        r.output = values(y);
    }
    loss.backward();
    r.loss = loss.item<double>();
    r.input_gradient = values(x.grad());
    for (const tensor_spec& t : p.tensors) {
        const Tensor& v = net.tensors.at(t.name);
        if (!t.trainable)
            r.state[t.name] = values(v);
        else if (v.grad().defined())
            r.gradients[t.name] = values(v.grad());
        else
            r.gradients[t.name] = std::vector<double>(t.value.size(), 0.0);
    }
    return r;
}

std::string torch_version() {
    return "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
           std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
}

} // namespace maso_oracle
