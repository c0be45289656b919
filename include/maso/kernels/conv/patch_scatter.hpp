// maso/kernels/conv/patch_scatter.hpp — dx of a convolution at any stride: the epilogue of
// dcols = Wᵀ · dZ adds each finished tile into the padded dx where col2im would put it
// (kernels/implicit_conv.hpp).
#pragma once

#include <maso/kernels/conv/patch_runs.hpp>
#include <maso/simd/strided.hpp>

#include <array>
#include <cstddef>

namespace maso::kernels {

/// The epilogue of dcols = Wᵀ · dZ: each finished tile (rows = taps, columns of
/// `order`) is added into dxp, dx zero-padded like pad_input's output, which the
/// caller zeroes first and crops with unpad_output after. Threads must own whole
/// input channels (gemm_split::rows in units of K·K taps): windows overlap.
///
/// A thread sweeps each block of columns once per row of tiles, so the runs of the
/// block's panels are kept (by panel, for up to `slots` panels: NC/NR = 8 for float
/// on AVX-512) rather than decoded again for every tile.
template <class T>
struct patch_scatter {
    static constexpr std::size_t max_nr = 64, slots = 16;
    conv_geometry g;
    patch_order order;
    T* dxp;
    std::array<std::size_t, slots> tag{};  ///< j0 + 1 of the panel held, 0: none
    std::array<std::size_t, slots> held{}; ///< its run count
    detail::padded_run runs[slots][max_nr];

    patch_scatter(const conv_geometry& geometry, patch_order o, T* dx_padded)
        : g(geometry), order(o), dxp(dx_padded) {}

    template <class Batch, std::size_t MR, std::size_t NV>
    void operator()(Batch (&acc)[MR][NV], std::size_t i0, std::size_t j0, std::size_t m,
                    std::size_t n) {
        using arch = typename Batch::arch_type;
        constexpr std::size_t W = Batch::size, NR = NV * W;
        static_assert(NR <= max_nr);
        alignas(64) T tile[MR * NR];
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t v = 0; v < NV; ++v)
                acc[i][v].store_aligned(tile + i * NR + v * W);
        const std::size_t slot = j0 / NR % slots;
        if (tag[slot] != j0 + 1) {
            detail::patch_run decoded[max_nr];
            held[slot] = detail::padded_runs(g, order, j0, n, NR, decoded, runs[slot],
                                             [](std::size_t j) { return j; });
            tag[slot] = j0 + 1;
        }
        const detail::padded_run* r = runs[slot];
        const std::size_t count = held[slot];
        const std::size_t stride = g.stride * (order.is_natural() ? 1 : order.window);
        detail::tap_offsets tap(g, i0);
        for (std::size_t i = 0; i < m; ++i, tap.next()) {
            T* base = dxp + *tap;
            for (std::size_t k = 0; k < count; ++k)
                if (!r[k].padding)
                    simd::add_strided(arch{}, tile + i * NR + r[k].dst, base + r[k].src, stride,
                                      r[k].count);
        }
    }
};

} // namespace maso::kernels
