// maso/run/group_kernel.hpp — a group's kernel: its plan (plan/kernel_plan.hpp) dispatched
// to the pieces of run/, forward in the context's mode and backward.
//
// Nothing is decided here that the plan does not name: forward runs the mode's product
// (tiles, statistics, plain, none), then — unless the tiles took the whole group — the
// bias before a norm, the batch statistics and the mode's `then` pass; backward runs the
// window's backward where z lies (window order after a forward that pooled on the tiles),
// else the plan's pass, then the norm's correction, the bias gradient and the affine map's
// backward. Each kernel run is recorded in an instrumented build (run/trace.hpp) under the
// name describe() prints for it, and timed in a profiling build (core/profile.hpp).
#pragma once

#include <maso/core/profile.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/plan/kernel_plan.hpp>
#include <maso/run/chain_pass.hpp>
#include <maso/run/channel_window.hpp>
#include <maso/run/group_context.hpp>
#include <maso/run/plane_window.hpp>
#include <maso/run/statistics_epilogue.hpp>
#include <maso/run/tile_epilogue.hpp>
#include <maso/run/tile_window.hpp>
#include <maso/run/trace.hpp>

namespace maso::run {

namespace detail {

template <class Ctx, bool Evaluation>
kernels::patch_order forward_in_mode(const Ctx& ctx) {
    using plan::product_kind;
    using plan::then_kind;
    constexpr auto p = Ctx::strategy;
    constexpr plan::mode_plan m = Evaluation ? p.evaluation : p.training;
    constexpr plan::group g = Ctx::g;
    [[maybe_unused]] constexpr std::size_t k = Ctx::group_index;
    if constexpr (m.product == product_kind::tiles) {
        // A batch norm joins the tiles in evaluation only, its statistics the running ones,
        // known before the product.
        if constexpr (g.normalization)
            ctx.template layer<g.chain_begin>().running_statistics(
                ctx.template io<g.chain_begin>());
        constexpr kernels::patch_order order =
            m.pools_on_tiles ? kernels::patch_order::windows(p.window, p.lanes)
                             : kernels::patch_order::natural();
        MASO_RUN_TRACE(k, false, "tiles");
        MASO_RUN_PROFILE(k, false, "tiles", ctx.template layer<g.begin>().product_flop(ctx.batch));
        tile_forward(ctx, order);
        return order;
    } else {
        if constexpr (m.product == product_kind::statistics) {
            MASO_RUN_TRACE(k, false, "statistics");
            MASO_RUN_PROFILE(k, false, "statistics",
                             ctx.template layer<g.begin>().product_flop(ctx.batch));
            statistics_forward(ctx);
        } else {
            if constexpr (m.product == product_kind::plain) {
                MASO_RUN_TRACE(k, false, "product");
                MASO_RUN_PROFILE(k, false, "product",
                                 ctx.template layer<g.begin>().product_flop(ctx.batch));
                ctx.template layer<g.begin>().forward_affine(
                    ctx.template io<g.begin>(ctx.x, ctx.z));
            }
            if constexpr (p.bias == plan::bias_kind::before_norm) {
                MASO_RUN_TRACE(k, false, "bias");
                MASO_RUN_PROFILE(k, false, "bias", 0);
                bias_before_norm_pass(ctx);
            }
            if constexpr (g.normalization) {
                MASO_RUN_TRACE(k, false, "norm_statistics");
                MASO_RUN_PROFILE(k, false, "norm_statistics", 0);
                statistics_pass(ctx);
            }
        }
        if constexpr (m.then == then_kind::channel_window) {
            MASO_RUN_TRACE(k, false, "channel_window");
            MASO_RUN_PROFILE(k, false, "channel_window", 0);
            channel_window_forward(ctx);
        } else if constexpr (m.then == then_kind::planes) {
            MASO_RUN_TRACE(k, false, "planes");
            MASO_RUN_PROFILE(k, false, "planes", 0);
            planes_forward(ctx);
        } else if constexpr (m.then == then_kind::chain) {
            MASO_RUN_TRACE(k, false, "chain");
            MASO_RUN_PROFILE(k, false, "chain", 0);
            chain_forward_pass(ctx);
        }
        return kernels::patch_order::natural();
    }
}

} // namespace detail

/// The group's forward in ctx.phase; returns the order its z was written in.
template <class Ctx>
kernels::patch_order group_forward(const Ctx& ctx) {
    if (ctx.phase == mode::evaluation) return detail::forward_in_mode<Ctx, true>(ctx);
    return detail::forward_in_mode<Ctx, false>(ctx);
}

/// The group's backward, z in the order its last forward wrote it in.
template <class Ctx>
void group_backward(const Ctx& ctx, kernels::patch_order z_order) {
    constexpr auto p = Ctx::strategy;
    constexpr plan::group g = Ctx::g;
    [[maybe_unused]] constexpr std::size_t k = Ctx::group_index;
    bool windowed = false;
    std::size_t z_ld = ctx.batch * Ctx::z_shape::plane; ///< z (and dz) per channel
    if constexpr (p.window != 0) {
        windowed = !z_order.is_natural();
        if (windowed) {
            MASO_RUN_TRACE(k, true, "tile_windows");
            MASO_RUN_PROFILE(k, true, "tile_windows", 0);
            z_ld = ctx.z_columns(z_order);
            tile_window_backward(ctx, z_ld);
        }
    }
    if (!windowed) {
        if constexpr (g.channel_window) {
            MASO_RUN_TRACE(k, true, "channel_window");
            MASO_RUN_PROFILE(k, true, "channel_window", 0);
            channel_window_backward(ctx);
        } else if constexpr (g.window) {
            MASO_RUN_TRACE(k, true, "planes");
            MASO_RUN_PROFILE(k, true, "planes", 0);
            planes_backward(ctx);
        } else if constexpr (p.chain) {
            MASO_RUN_TRACE(k, true, "chain");
            MASO_RUN_PROFILE(k, true, "chain", 0);
            chain_backward_pass(ctx);
        }
    }
    // Window-ordered z comes from an evaluation forward, whose statistics were constants:
    // there is no correction.
    if constexpr (g.normalization)
        if (!windowed) {
            MASO_RUN_TRACE(k, true, "correction");
            MASO_RUN_PROFILE(k, true, "correction", 0);
            norm_correction_pass(ctx);
        }
    if constexpr (p.bias == plan::bias_kind::before_norm) {
        MASO_RUN_TRACE(k, true, "bias_gradient");
        MASO_RUN_PROFILE(k, true, "bias_gradient", 0);
        bias_before_norm_gradient(ctx, z_ld);
    }
    if constexpr (g.contraction) {
        MASO_RUN_TRACE(k, true, "affine");
        MASO_RUN_PROFILE(k, true, "affine", 0);
        ctx.template layer<g.begin>().backward_affine(
            ctx.template io<g.begin>(ctx.x, ctx.z, ctx.dz, ctx.dx), z_order);
    }
}

} // namespace maso::run
