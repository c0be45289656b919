// bench/peers/support/torch_networks.hpp — the benchmarks' networks in libtorch.
//
// Each is the maso network it is compared with, written with torch::nn modules as a
// libtorch user would, and each lists its tensors in maso's state-dict order (`state`) so
// that torch_state.hpp's copy_state gives both sides identical weights:
//
//   large_cnn   the paper's largeCNN (dsl_examples/large_cnn.hpp): 8 × (conv, no bias →
//               BatchNorm2d → swish per channel), a 1×1 class conv with bias, global mean
//   small_cnn   the authors' smallCNN with batch norm and per-channel swish: conv 32 3×3
//               same → max pool 2 → conv 64 3×3 valid → max pool 2 → conv 128 1×1 → global
//               mean → dense 10, no bias
//   mlp         784 → 512 → 512 → 10, dense layers with bias, swish per layer
//   conv_block  PERFORMANCE.md's block: conv 3×3 same with bias → swish per layer → 2×2 max
//               pooling or β-softmax pooling (one θ for the layer)
//
// Batch norm keeps PyTorch's defaults (momentum 0.1, eps 1e-5), which are maso's.
#pragma once

#include "torch_swish.hpp"

#include <torch/torch.h>

#include <vector>

namespace maso_peers {

namespace nn = torch::nn;

/// conv (no bias when a batch norm follows) → [BatchNorm2d] → swish, appended to `body`,
/// its tensors to `state` in maso's order.
inline void conv_bn_swish(nn::Sequential& body, std::vector<torch::Tensor>& state, std::int64_t in,
                          std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t pad,
                          activation a) {
    nn::Conv2d conv(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
    nn::BatchNorm2d bn(out);
    swish act(out, a);
    body->push_back(conv);
    body->push_back(bn);
    body->push_back(act);
    state.insert(state.end(),
                 {conv->weight, bn->weight, bn->bias, bn->running_mean, bn->running_var});
    if (a != activation::silu) state.push_back(act->theta);
}

struct large_cnn_impl : nn::Module {
    nn::Sequential body;
    nn::Conv2d classes{nullptr};
    std::vector<torch::Tensor> state;

    large_cnn_impl(std::int64_t in_channels, activation a) {
        struct layer {
            std::int64_t out, k, stride, pad;
        };
        const layer layers[] = {{96, 3, 1, 1},  {96, 3, 1, 1},  {96, 3, 2, 1},  {192, 3, 1, 1},
                                {192, 3, 1, 1}, {192, 3, 2, 1}, {192, 3, 1, 0}, {192, 1, 1, 0}};
        std::int64_t in = in_channels;
        for (const layer& l : layers) {
            conv_bn_swish(body, state, in, l.out, l.k, l.stride, l.pad, a);
            in = l.out;
        }
        body = register_module("body", body);
        classes = register_module("classes", nn::Conv2d(nn::Conv2dOptions(in, 10, 1)));
        state.insert(state.end(), {classes->weight, classes->bias});
    }
    torch::Tensor forward(const torch::Tensor& x) {
        return classes->forward(body->forward(x)).mean({2, 3});
    }
};
TORCH_MODULE_IMPL(large_cnn, large_cnn_impl);

struct small_cnn_impl : nn::Module {
    nn::Sequential first, second, third;
    nn::Linear classes{nullptr};
    std::vector<torch::Tensor> state;

    small_cnn_impl(std::int64_t in_channels, activation a) {
        conv_bn_swish(first, state, in_channels, 32, 3, 1, 1, a);
        conv_bn_swish(second, state, 32, 64, 3, 1, 0, a);
        conv_bn_swish(third, state, 64, 128, 1, 1, 0, a);
        first = register_module("first", first);
        second = register_module("second", second);
        third = register_module("third", third);
        classes = register_module("classes", nn::Linear(nn::LinearOptions(128, 10).bias(false)));
        state.push_back(classes->weight);
    }
    torch::Tensor forward(const torch::Tensor& x) {
        torch::Tensor h = torch::max_pool2d(first->forward(x), 2);
        h = torch::max_pool2d(second->forward(h), 2);
        return classes->forward(third->forward(h).mean({2, 3}));
    }
};
TORCH_MODULE_IMPL(small_cnn, small_cnn_impl);

struct mlp_impl : nn::Module {
    nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr};
    swish a1{nullptr}, a2{nullptr};
    std::vector<torch::Tensor> state;

    explicit mlp_impl(activation a) {
        const activation per_layer = a == activation::silu ? a : activation::swish_per_layer;
        l1 = register_module("l1", nn::Linear(784, 512));
        a1 = register_module("a1", swish(512, per_layer));
        l2 = register_module("l2", nn::Linear(512, 512));
        a2 = register_module("a2", swish(512, per_layer));
        l3 = register_module("l3", nn::Linear(512, 10));
        state = {l1->weight, l1->bias};
        if (a1->theta.defined()) state.push_back(a1->theta);
        state.insert(state.end(), {l2->weight, l2->bias});
        if (a2->theta.defined()) state.push_back(a2->theta);
        state.insert(state.end(), {l3->weight, l3->bias});
    }
    torch::Tensor forward(const torch::Tensor& x) {
        return l3->forward(a2->forward(l2->forward(a1->forward(l1->forward(x)))));
    }
};
TORCH_MODULE_IMPL(mlp, mlp_impl);

enum class pooling { max, soft_unfold, soft_avgpool };

/// β-softmax pooling over 2×2 windows, y = Σ softmax(η v)·v, from libtorch's operators: the
/// windows gathered into the last dimension (a copy), then softmax and a weighted sum.
inline torch::Tensor softpool_unfold(const torch::Tensor& x, const torch::Tensor& theta) {
    const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const torch::Tensor v = x.reshape({n, c, h / 2, 2, w / 2, 2})
                                .permute({0, 1, 2, 4, 3, 5})
                                .reshape({n, c, h / 2, w / 2, 4});
    return (torch::softmax(theta.exp() * v, -1) * v).sum(-1);
}
/// The same as a ratio of two average poolings, Σ e^{ηv}·v / Σ e^{ηv} (the SoftPool paper's
/// PyTorch form): no copy of the windows, but no max subtracted either, so e^{ηv} overflows
/// float for ηv > 88. Exact in this benchmark's range.
inline torch::Tensor softpool_avgpool(const torch::Tensor& x, const torch::Tensor& theta) {
    const torch::Tensor e = torch::exp(theta.exp() * x);
    return torch::avg_pool2d(e * x, 2) / torch::avg_pool2d(e, 2);
}

struct conv_block_impl : nn::Module {
    nn::Conv2d conv{nullptr};
    swish act{nullptr};
    pooling pool;
    torch::Tensor pool_theta; ///< β-softmax pooling's θ (one for the layer)
    std::vector<torch::Tensor> state;

    conv_block_impl(std::int64_t channels, activation a, pooling p) : pool(p) {
        conv = register_module("conv",
                               nn::Conv2d(nn::Conv2dOptions(channels, channels, 3).padding(1)));
        act = register_module("act", swish(channels, a));
        state = {conv->weight, conv->bias};
        if (act->theta.defined()) state.push_back(act->theta);
        if (p != pooling::max) {
            pool_theta = register_parameter("pool_theta", torch::zeros({1}));
            state.push_back(pool_theta);
        }
    }
    torch::Tensor forward(const torch::Tensor& x) {
        const torch::Tensor a = act->forward(conv->forward(x));
        switch (pool) {
        case pooling::max:
            return torch::max_pool2d(a, 2);
        case pooling::soft_unfold:
            return softpool_unfold(a, pool_theta);
        case pooling::soft_avgpool:
            return softpool_avgpool(a, pool_theta);
        }
        return a;
    }
};
TORCH_MODULE_IMPL(conv_block, conv_block_impl);

/// The module's 4-D tensors (convolution weights) in channels-last memory format: with the
/// input in that format too, libtorch's convolutions and poolings run without the reorders
/// its default NCHW layout costs around oneDNN's kernels.
inline void to_channels_last(nn::Module& m) {
    torch::NoGradGuard no_grad;
    for (auto& p : m.parameters())
        if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

} // namespace maso_peers
