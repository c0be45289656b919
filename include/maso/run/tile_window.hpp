// maso/run/tile_window.hpp — the backward of a group whose forward pooled on the register
// tiles: z is in window order (kernels/patch_order.hpp), and each channel's pass reads it
// group of windows by group of windows.
//
// Per channel: the chain recomputed in registers, the window's backward on L windows at a
// time (one per lane), the chain's backward, dz written back in window order; the
// parameter-gradient sums (the chain's, then the window's ∂L/∂η) staged for commit.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/run/group_context.hpp>

#include <algorithm>
#include <array>
#include <cstddef>

namespace maso::run {

namespace detail {

/// dz of channel c (columns in window order, z_ld per channel) from z and the group
/// output's gradient; its sums into the channel's staging slot.
template <class Ctx>
void tile_window_backward_channel(const Ctx& ctx, std::size_t c, std::size_t z_ld) {
    using T = typename Ctx::T;
    using batch = xsimd::batch<T, typename Ctx::arch>;
    constexpr std::size_t W = batch::size, NV = Ctx::blocking::NV;
    constexpr std::size_t n_acc = Ctx::chain_sums;
    const T* z = ctx.z + c * z_ld;
    T* dz = ctx.dz + c * z_ld;
    const std::size_t windows = ctx.batch * Ctx::out_shape::plane;
    const T* dout = ctx.dout + c * windows;
    const auto ops = ctx.chain_ops(c);
    const auto lanes = ctx.lanes(c);
    // A group of L windows per tile (run/tile_epilogue.hpp): R·L columns, member r at r·L.
    constexpr std::size_t R = Ctx::strategy.window * Ctx::strategy.window, L = NV * W / R;
    std::array<batch, n_acc + 1> acc;
    acc.fill(batch(T(0)));
    for (std::size_t w0 = 0; w0 < windows; w0 += L) {
        const std::size_t valid = std::min(L, windows - w0);
        const T* zg = z + w0 * R;
        T* dzg = dz + w0 * R;
        batch dy;
        if (valid == W) {
            dy = batch::load_unaligned(dout + w0);
        } else { // padded lanes get dy = 0 and so contribute nothing
            alignas(64) T lane[W] = {};
            std::copy_n(dout + w0, valid, lane);
            dy = batch::load_aligned(lane);
        }
        std::array<batch, R> zr, u, du;
        if constexpr (L == W) {
            for (std::size_t r = 0; r < R; ++r)
                zr[r] = batch::load_unaligned(zg + r * W);
        } else {
            // Member r is the batch at r·L of the group: its lanes past L belong to other
            // members, where dy = 0, so they add nothing to any sum.
            alignas(64) T group[R * L + W] = {};
            std::copy_n(zg, R * L, group);
            for (std::size_t r = 0; r < R; ++r)
                zr[r] = batch::load_unaligned(group + r * L);
        }
        for (std::size_t r = 0; r < R; ++r)
            u[r] = kernels::chain_value(ops, zr[r]);
        acc[n_acc] += lanes.template backward<R>(u, dy, du);
        if constexpr (L == W) {
            for (std::size_t r = 0; r < R; ++r)
                kernels::chain_gradient(ops, zr[r], du[r], acc.data()).store_unaligned(dzg + r * W);
        } else {
            // In member order, each batch's lanes past L overwritten by the next.
            alignas(64) T group[R * L + W];
            for (std::size_t r = 0; r < R; ++r)
                kernels::chain_gradient(ops, zr[r], du[r], acc.data())
                    .store_unaligned(group + r * L);
            std::copy_n(group, R * L, dzg);
        }
    }
    T* sums = ctx.staging.data() + c * (n_acc + 1);
    for (std::size_t a = 0; a <= n_acc; ++a)
        sums[a] = xsimd::hadd(acc[a]);
}

} // namespace detail

/// dz of every channel from z in window order (z_ld columns per channel), channels split
/// among the threads; the sums committed in channel order.
template <class Ctx>
void tile_window_backward(const Ctx& ctx, std::size_t z_ld) {
    parallel_for(Ctx::z_shape::channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c)
            detail::tile_window_backward_channel(ctx, c, z_ld);
    });
    ctx.commit(Ctx::z_shape::channels, true);
}

} // namespace maso::run
