// maso/layers/vq_node.hpp — a spline unit as a layer: beta_vq, soft_vq, hard_vq.
//
//   beta_vq<relu>(0.9f)                      β-VQ inference, β fixed: swish with η = 9
//   beta_vq<relu>(learnable(0.5f))           β learned (θ in the parameters)
//   beta_vq<leaky_relu>(0.7f, leaky_relu{0.2})
//   soft_vq<relu>()                          β = ½: SiLU (Prop. 3)
//   hard_vq<absolute>()                      β = 1, chosen at compile time: |z|
//
// The unit is any elementwise unit of vq/ (relu, leaky_relu, absolute); the
// math is vq/elementwise.hpp's closed form. Per channel it is one pointwise op
// (`op`), which the planner chains after the affine map that precedes it.
// β = 1 given at run time also takes the hard pass.
#pragma once

#include <maso/expr/beta_spec.hpp>
#include <maso/expr/chain.hpp>
#include <maso/expr/node.hpp>
#include <maso/expr/node_defaults.hpp>
#include <maso/layers/detail/beta_source.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/vq/elementwise.hpp>
#include <maso/vq/region_pass.hpp>
// The units networks name most; each unit's header gives its short name (maso::relu).
#include <maso/vq/units/absolute.hpp>
#include <maso/vq/units/leaky_relu.hpp>
#include <maso/vq/units/relu.hpp>

#include <string>
#include <vector>

namespace maso {

/// One channel's β-VQ unit as a pointwise op (kernels/pointwise_chain.hpp).
template <class U, class T>
struct vq_op {
    static constexpr std::size_t accumulators = 1;
    static constexpr std::size_t code_regions = U::regions; ///< a unit: run/codes.hpp
    vq::beta_pass_for<U, T> soft;
    vq::hard_pass_for<U, T> hard;
    bool is_hard;
    T* grad; ///< ∂L/∂θ of this channel's β, or null when β is fixed

    template <class V>
    V forward(V x) const {
        return is_hard ? hard.forward(x) : soft.forward(x);
    }
    template <class V>
    V backward(V x, V dy, V* acc) const {
        return is_hard ? hard.backward(x, dy, acc[0]) : soft.backward(x, dy, acc[0]);
    }
    void commit(const T* sums) const {
        if (grad) *grad += sums[0];
    }
    /// The region the unit picks at x (its hard VQ code, whatever β it infers with).
    template <class V>
    V region(V x) const {
        return hard.region(x);
    }
    /// Where the unit picks region 1: its code when it has two regions.
    template <class V>
    auto region_mask(V x) const {
        if constexpr (U::regions == 2)
            return x > simd::ops<V>::broadcast(T(0)); // c_1 z > c_0 z: vq/elementwise.hpp
        else
            return hard.region(x) != simd::ops<V>::broadcast(T(0));
    }
    /// The posterior of region r at x (one-hot on the hard path).
    template <class V>
    V posterior(V x, std::size_t r) const {
        using O = simd::ops<V>;
        if (is_hard)
            return O::select(hard.region(x) == O::broadcast(T(r)), O::broadcast(1),
                             O::broadcast(0));
        return soft.probability(x, r);
    }
};

template <vq::elementwise_unit U, bool Hard>
struct vq_node : keeps_shape {
    static constexpr node_kind kind = node_kind::elementwise;
    /// Each element is a unit of U::regions regions, whose code a forward can record
    /// (run/codes.hpp).
    static constexpr std::size_t code_regions = U::regions;
    U unit;
    beta_spec beta;

    constexpr vq_node(U u = {}, beta_spec b = {}) : unit(u), beta(b) {}

    static std::string name(const vq_node& n) {
        if constexpr (Hard) return std::string("hard_vq<") + U::name() + ">";
        return std::string("beta_vq<") + U::name() + ">(" + n.beta.label() + ")";
    }

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer : no_state, detail::unfused_passes<layer<In, T, Arch>> {
        using arch = Arch;
        using output = In;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t C = In::channels;
        U unit;
        /// Hard: β = 1, fixed, whatever the node holds; the spec is not read (nor validated).
        detail::beta_source<T> beta;

        explicit layer(const vq_node& n)
            : unit(n.unit), beta(Hard ? beta_spec{1.0f} : n.beta, "beta_vq") {}
        std::size_t parameter_count() const { return beta.parameter_count(C); }
        std::vector<tensor_slot> tensors() const { return beta.tensors(C); }
        void initialize(std::span<T> params, init_context&) const { beta.initialize(params); }
        /// backward's ∂L/∂θ per channel, committed in channel order (unfused_passes.hpp).
        std::size_t scratch_size(std::size_t) const { return this->staging_size(); }

        /// θ of channel c: a parameter when learnable, else the fixed value.
        vq::basic_beta<T> beta_of(const io& io, std::size_t c) const {
            return beta.of(io.params, c);
        }
        vq_op<U, T> op(const io& io, std::size_t c) const {
            const auto b = beta_of(io, c);
            return {vq::beta_pass_for<U, T>(unit, b), vq::hard_pass_for<U, T>(unit), b.is_hard(),
                    beta.gradient(io.grads, c)};
        }
    };
};

/// β-VQ inference of unit U with the given β (fixed, learnable, per channel).
template <vq::elementwise_unit U>
vq_node<U, false> beta_vq(beta_spec beta, U unit = {}) {
    beta.validate("beta_vq");
    return {unit, beta};
}

/// Soft VQ (β = ½, fixed): SiLU for relu, z·tanh(z) for absolute.
template <vq::elementwise_unit U>
vq_node<U, false> soft_vq(U unit = {}) {
    return {unit, beta_spec{0.5f}};
}

/// Hard VQ (β = 1), the max region, chosen at compile time.
template <vq::elementwise_unit U>
constexpr vq_node<U, true> hard_vq(U unit = {}) {
    return {unit, beta_spec{1.0f}};
}

} // namespace maso
