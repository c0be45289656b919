// maso/run/chain_pass.hpp — the passes over z that a group runs beside its product: the
// pointwise chain forward and backward (plan then_kind::chain), the bias added to z before
// a batch norm and its gradient, the batch statistics and their correction.
//
// Each pass is one read (and one write) of z per channel, channels split among the
// threads; backward's parameter-gradient sums are staged per channel and committed in
// channel order (run/group_context.hpp).
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/layers/bias.hpp>
#include <maso/run/codes.hpp>
#include <maso/run/group_context.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <tuple>

namespace maso::run {

/// out = chain(z), channel by channel.
template <class Ctx>
void chain_forward_pass(const Ctx& ctx) {
    using S = typename Ctx::z_shape;
    const std::size_t n = ctx.batch * S::plane;
    if constexpr (Ctx::chain_codes)
        if (ctx.codes) { // the same pass, recording the units' codes
            const auto sinks = ctx.chain_sinks();
            parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
                for (std::size_t c = c0; c < c1; ++c)
                    coded_chain_forward(typename Ctx::arch{}, ctx.chain_ops(c), sinks, c, 0,
                                        ctx.z_channel(c), ctx.out + c * n, n);
            });
            return;
        }
    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c)
            kernels::chain_forward(typename Ctx::arch{}, ctx.chain_ops(c), ctx.z_channel(c),
                                   ctx.out + c * n, n);
    });
}

/// dz from z and dout through the chain in reverse, its sums committed in channel order.
template <class Ctx>
void chain_backward_pass(const Ctx& ctx) {
    using S = typename Ctx::z_shape;
    constexpr std::size_t n_acc = Ctx::chain_sums;
    const std::size_t n = ctx.batch * S::plane;
    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c) {
            const auto sums =
                kernels::chain_backward_sums(typename Ctx::arch{}, ctx.chain_ops(c),
                                             ctx.z_channel(c), ctx.dout + c * n, ctx.dz + c * n, n);
            std::copy_n(sums.data(), n_acc, ctx.staging.data() + c * (n_acc + 1));
        }
    });
    ctx.commit(S::channels, false);
}

/// z += bias, before the batch statistics of a plain product.
template <class Ctx>
void bias_before_norm_pass(const Ctx& ctx) {
    using S = typename Ctx::z_shape;
    std::array<typename Ctx::T, S::channels> bias;
    for (std::size_t c = 0; c < S::channels; ++c)
        bias[c] = ctx.bias_before_norm(c);
    const std::size_t n = ctx.batch * S::plane;
    maso::detail::add_bias<typename Ctx::arch>(bias.data(), ctx.z, S::channels, n, n);
}

/// The bias gradient of a bias added before a norm: Σ dz per channel over z_ld columns (a
/// window order's padding columns have dz = 0).
template <class Ctx>
void bias_before_norm_gradient(const Ctx& ctx, std::size_t z_ld) {
    const auto b = ctx.template layer<Ctx::g.begin>().bias(ctx.template io<Ctx::g.begin>(), 0);
    maso::detail::add_bias_gradient<typename Ctx::arch>(ctx.dz, b.grad, Ctx::z_shape::channels,
                                                        z_ld, z_ld);
}

/// The batch norm's statistics of z: the batch's in training, the running ones in
/// evaluation.
template <class Ctx>
void statistics_pass(const Ctx& ctx) {
    ctx.template layer<Ctx::g.chain_begin>().statistics(ctx.template io<Ctx::g.chain_begin>(ctx.z));
}

/// The batch-statistics term of the batch norm's gradient, after the chain's backward.
template <class Ctx>
void norm_correction_pass(const Ctx& ctx) {
    using S = typename Ctx::z_shape;
    auto& bn = ctx.template layer<Ctx::g.chain_begin>();
    const auto nio = ctx.template io<Ctx::g.chain_begin>();
    const std::size_t n = ctx.batch * S::plane;
    parallel_for(S::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c)
            bn.correct(nio, c, ctx.z_channel(c), ctx.dz + c * n, n);
    });
}

} // namespace maso::run
