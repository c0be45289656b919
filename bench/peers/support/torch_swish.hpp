// bench/peers/support/torch_swish.hpp — swish in libtorch, as a PyTorch user writes it.
//
// maso's beta_vq<relu>(learnable…) is swish y = z·σ(ηz) with η = e^θ and θ learned
// (paper-spec §3–§4, vq/beta.hpp). libtorch has no such layer: its users compose it from
// sigmoid and exp, and autograd derives dz and dθ in separate kernels. SiLU (torch::silu,
// one fused kernel each way) is the fixed β = ½, η = 1 case, libtorch's fastest form; at
// θ = 0 the two compute the same function. θ is one value for the layer or one per
// channel, broadcast over dimension 1 of [N][C] or [N][C][H][W].
#pragma once

#include <torch/torch.h>

namespace maso_peers {

enum class activation { swish_per_layer, swish_per_channel, silu };

inline const char* name(activation a) {
    switch (a) {
    case activation::swish_per_layer:
        return "swish_layer";
    case activation::swish_per_channel:
        return "swish_channel";
    case activation::silu:
        return "silu";
    }
    return "?";
}

struct swish_impl : torch::nn::Module {
    activation kind;
    torch::Tensor theta; ///< undefined for SiLU

    swish_impl(std::int64_t channels, activation a) : kind(a) {
        if (a != activation::silu)
            theta = register_parameter(
                "theta", torch::zeros({a == activation::swish_per_channel ? channels : 1}));
    }
    torch::Tensor forward(const torch::Tensor& z) {
        if (kind == activation::silu) return torch::silu(z);
        if (kind == activation::swish_per_layer) return z * torch::sigmoid(theta.exp() * z);
        std::vector<std::int64_t> shape(std::size_t(z.dim()), 1);
        shape[1] = theta.numel();
        return z * torch::sigmoid(theta.exp().view(shape) * z);
    }
};
TORCH_MODULE_IMPL(swish, swish_impl);

} // namespace maso_peers
