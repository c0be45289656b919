// maso/kernels/conv/patch_scatter.hpp — dx of a convolution at any stride: the epilogue of
// dcols = Wᵀ · dZ adds each finished tile into the padded dx where col2im would put it
// (kernels/implicit_conv.hpp).
#pragma once

#include <maso/kernels/conv/patch_runs.hpp>
#include <maso/kernels/gemm/blocking.hpp>
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
/// on AVX-512) rather than decoded again for every tile. A 3-wide window at stride 2 adds
/// its three taps of a row together (simd::add_three_taps), and each tile fetches the
/// lines of dx that the next panel of its rows adds into.
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
        std::size_t count = 0;
        const detail::padded_run* r = runs_of<NR>(j0, n, count);
        const std::size_t stride = detail::run_step(g, order);
        // A 3-wide window at stride 2 interleaves its three taps of a row in dx: rows kx = 0,
        // 1, 2 of the tile are added together, each entry of dx read and written once.
        const bool three_taps = g.kernel == 3 && stride == 2;
        detail::tap_offsets tap(g, i0);
        for (std::size_t i = 0; i < m; ++i, tap.next()) {
            T* base = dxp + *tap;
            const T* row = tile + i * NR;
            if (three_taps && tap.kx == 0 && i + 2 < m) {
                for (std::size_t k = 0; k < count; ++k)
                    if (!r[k].padding)
                        simd::add_three_taps(arch{}, row + r[k].dst, row + NR + r[k].dst,
                                             row + 2 * NR + r[k].dst, base + r[k].src, r[k].count);
                i += 2, tap.next(), tap.next();
                continue;
            }
            for (std::size_t k = 0; k < count; ++k)
                if (!r[k].padding)
                    simd::add_strided(arch{}, row + r[k].dst, base + r[k].src, stride, r[k].count);
        }
        prefetch_next<NR>(i0, j0 + NR, m, stride);
    }

private:
    /// The runs of the panel at column j0 (n of its columns exist), decoded once and kept.
    template <std::size_t NR>
    const detail::padded_run* runs_of(std::size_t j0, std::size_t n, std::size_t& count) {
        const std::size_t slot = j0 / NR % slots;
        if (tag[slot] != j0 + 1) {
            detail::patch_run decoded[max_nr];
            held[slot] = detail::padded_runs(g, order, j0, n, NR, decoded, runs[slot],
                                             [](std::size_t j) { return j; });
            tag[slot] = j0 + 1;
        }
        count = held[slot];
        return runs[slot];
    }
    /// The GEMM's next tile is usually the next panel of the same rows (its jr loop): the
    /// lines of dx it adds into are fetched while this tile's products run. Without it the
    /// adds waited on dx's lines (stride 2: a third of dx's product).
    template <std::size_t NR>
    void prefetch_next(std::size_t i0, std::size_t j0, std::size_t m, std::size_t stride) {
        const std::size_t columns = order.columns(g);
        if (j0 >= columns) return;
        std::size_t count = 0;
        const detail::padded_run* r = runs_of<NR>(j0, std::min(NR, columns - j0), count);
        detail::tap_offsets tap(g, i0);
        for (std::size_t i = 0; i < m; ++i, tap.next()) {
            if (tap.kx != 0) continue; // a row's other taps add into the same lines
            const T* base = dxp + *tap;
            for (std::size_t k = 0; k < count; ++k) {
                if (r[k].padding) continue;
                // The run's entries at its taps kx = 0 … K − 1.
                const T* p = base + r[k].src;
                const std::size_t span = stride * (r[k].count - 1) + g.kernel;
                for (std::size_t e = 0; e < span; e += cache_line<T>)
                    __builtin_prefetch(p + e, 1, 3);
                __builtin_prefetch(p + span - 1, 1, 3);
            }
        }
    }
};

} // namespace maso::kernels
