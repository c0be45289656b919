// maso/layers/detail/beta_source.hpp — a layer's β: fixed, or θ learnable per layer or channel.
//
// Internal to the layers with a β (vq_node, soft_output, softmax, softpool, global_pool,
// maxout); users include those. expr/beta_spec.hpp says how β is given; this says where a
// layer finds it:
//   fixed                   β = spec.value, no parameters
//   learnable               one θ in the layer's parameters, β = σ(θ), η = e^θ (vq/beta.hpp)
//   learnable per channel   one θ per channel c, at params[c]
// and where ∂L/∂θ goes: grads[0] or grads[c], accumulated, with ∂L/∂θ = η ∂L/∂η
// (vq::theta_gradient: 0 where ∂L/∂η = 0, so η = ∞ never gives ∞·0).
#pragma once

#include <maso/core/tensor_slot.hpp>
#include <maso/expr/beta_spec.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/derive.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace maso::detail {

template <class T>
struct beta_source {
    beta_spec spec;
    vq::basic_beta<T> fixed; ///< from_beta(spec.value), computed once

    /// Validates the spec first (maso::value_error naming `where`, as beta_spec::validate).
    beta_source(const beta_spec& s, const char* where)
        : spec((s.validate(where), s)), fixed(vq::basic_beta<T>::from_beta(T(s.value))) {}

    /// θ values in the parameters of a layer of `channels` channels: 0, 1 or `channels`.
    std::size_t parameter_count(std::size_t channels) const noexcept {
        return spec.parameter_count(channels);
    }
    /// The θ tensor of a layer of `channels` channels, if β is learnable: {1} or {channels}.
    std::vector<tensor_slot> tensors(std::size_t channels) const {
        if (!spec.learnable) return {};
        return {{"theta", parameter_kind::beta, 0, {parameter_count(channels)}}};
    }
    /// θ = logit(β) for every θ.
    void initialize(std::span<T> params) const noexcept {
        for (auto& theta : params)
            theta = fixed.theta;
    }
    /// Channel c's β: its θ when learnable, else the fixed value.
    vq::basic_beta<T> of(std::span<const T> params, std::size_t c) const noexcept {
        if (!spec.learnable) return fixed;
        return {params[slot(c)]};
    }
    /// Where channel c's ∂L/∂θ is accumulated, or null for a fixed β (or no gradients kept).
    T* gradient(std::span<T> grads, std::size_t c) const noexcept {
        return spec.learnable && !grads.empty() ? grads.data() + slot(c) : nullptr;
    }
    /// Adds ∂L/∂θ = η ∂L/∂η to channel c's gradient; nothing for a fixed β.
    void add_gradient(std::span<T> grads, std::size_t c, T deta, T eta) const noexcept {
        if (T* const g = gradient(grads, c)) *g += vq::theta_gradient(deta, eta);
    }

private:
    std::size_t slot(std::size_t c) const noexcept { return spec.per_channel ? c : 0; }
};

} // namespace maso::detail
