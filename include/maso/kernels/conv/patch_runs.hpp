// maso/kernels/conv/patch_runs.hpp — which input entries a block of a convolution's columns
// reads: its runs (kernels/implicit_conv.hpp).
//
// Every gather runs along a run: columns whose pixels lie on one output row at a fixed step
// (1 in natural order, k in window order), so that their input entries are equally spaced in
// one row of the padded input. A block's runs are decoded once and then read tap by tap.
#pragma once

#include <maso/kernels/conv_geometry.hpp>
#include <maso/kernels/patch_order.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>

namespace maso::kernels::detail {

/// `count` columns whose pixels are (n, oy, ox0 + i·step), i < count; image n < 0
/// (here: `padding`) marks columns that stand for no pixel.
struct patch_run {
    std::size_t offset; ///< of the first column, from the first column asked for
    std::size_t count;
    std::size_t n, oy, ox0, step;
    bool padding;
};

/// The step in the input between a run's neighbouring columns: the stride, times the
/// window in a window order (a run is one member of neighbouring windows), as g.stride ×
/// patch_run::step.
inline std::size_t run_step(const conv_geometry& g, patch_order o) {
    return g.stride * (o.is_natural() ? 1 : o.window);
}

/// The runs of columns [j0, j0 + count) in order `o`, written to runs[]; returns
/// how many. There are at most `count` of them.
inline std::size_t patch_runs(const conv_geometry& g, patch_order o, std::size_t j0,
                              std::size_t count, patch_run* runs) {
    const std::size_t ho = g.out_height(), wo = g.out_width();
    std::size_t r = 0;
    for (std::size_t done = 0; done < count;) {
        const std::size_t j = j0 + done, left = count - done;
        patch_run run{done, 0, 0, 0, 0, 1, false};
        if (o.is_natural()) {
            const std::size_t plane = ho * wo;
            run.n = j / plane;
            run.oy = j % plane / wo;
            run.ox0 = j % wo;
            run.count = std::min(left, wo - run.ox0);
        } else {
            const std::size_t k = o.window, L = o.lanes, hp = ho / k, wp = wo / k;
            const std::size_t group = j / (L * k * k), in_group = j % (L * k * k);
            const std::size_t member = in_group / L, lane = in_group % L;
            const std::size_t w = group * L + lane, total = o.windows_of(g);
            if (w >= total) {
                run.padding = true;
                run.count = std::min(left, L - lane);
            } else {
                const std::size_t q = w % (hp * wp), px = q % wp;
                run.n = w / (hp * wp);
                run.oy = q / wp * k + member / k;
                run.ox0 = px * k + member % k;
                run.step = k;
                run.count = std::min({left, L - lane, wp - px, total - w});
            }
        }
        runs[r++] = run;
        done += run.count;
    }
    return r;
}

/// The runs of columns [j0, j0 + count), none crossing a multiple of `panel` columns
/// from j0 (so that each lies in one packed panel); returns how many (≤ count).
inline std::size_t panel_runs(const conv_geometry& g, patch_order o, std::size_t j0,
                              std::size_t count, std::size_t panel, patch_run* runs) {
    std::size_t r = 0;
    for (std::size_t p = 0; p < count; p += panel) {
        const std::size_t first = r;
        r += patch_runs(g, o, j0 + p, std::min(panel, count - p), runs + r);
        for (std::size_t i = first; i < r; ++i)
            runs[i].offset += p;
    }
    return r;
}

/// A run of a block as the packers read it from the padded input: its entries are
/// xp[tap offset + src + i·stride], i < count, stored from dst on (0 for padding).
struct padded_run {
    std::size_t dst, src, count;
    bool padding;
};

/// The runs of columns [j0, j0 + count) of order `o`, none crossing a multiple of
/// `panel` columns, against the padded input; `dst(offset)` maps a run's first
/// column to where the packer stores it. Returns how many (≤ count).
template <class Dst>
std::size_t padded_runs(const conv_geometry& g, patch_order o, std::size_t j0, std::size_t count,
                        std::size_t panel, patch_run* scratch, padded_run* runs, Dst&& dst) {
    const std::size_t n = panel_runs(g, o, j0, count, panel, scratch);
    const std::size_t hp = g.height + 2 * g.pad, wp = g.width + 2 * g.pad;
    for (std::size_t r = 0; r < n; ++r) {
        const patch_run& u = scratch[r];
        runs[r] = {dst(u.offset),
                   u.padding ? 0 : (u.n * hp + u.oy * g.stride) * wp + u.ox0 * g.stride, u.count,
                   u.padding};
    }
    return n;
}

/// Offsets of taps t, t + 1, … in the padded input (channel plane, row ky, column
/// kx), stepped without dividing: at one tap per panel row, three divisions per tap
/// were a quarter of the packing.
struct tap_offsets {
    std::size_t K, plane, wp, c, ky, kx;

    tap_offsets(const conv_geometry& g, std::size_t t)
        : K(g.kernel), plane(g.batch * (g.height + 2 * g.pad)), wp(g.width + 2 * g.pad),
          c(t / (K * K)), ky(t / K % K), kx(t % K) {}
    std::size_t operator*() const { return (c * plane + ky) * wp + kx; }
    void next() {
        if (++kx == K) {
            kx = 0;
            if (++ky == K) ky = 0, ++c;
        }
    }
};

/// The first pixel of a group of 2×2 windows, `lanes` of them, that are neighbours
/// in one pooled row: the group spans output rows oy, oy + 1 and columns ox to
/// ox + 2·lanes − 1 of `image`.
struct pair_rows {
    std::size_t image, oy, ox;
};
/// Group `group` of window order o (windows(2, lanes)) as pair_rows, or nothing when
/// its windows run past a pooled row or past the last window.
inline std::optional<pair_rows> pair_rows_of(const conv_geometry& g, patch_order o,
                                             std::size_t group, std::size_t lanes) {
    if (o.window != 2 || o.lanes != lanes) return std::nullopt;
    const std::size_t ph = g.out_height() / 2, pw = g.out_width() / 2, w0 = group * lanes;
    if (w0 + lanes > o.windows_of(g)) return std::nullopt;
    const std::size_t image = w0 / (ph * pw), q = w0 % (ph * pw);
    const std::size_t py = q / pw, px = q % pw;
    if (px + lanes > pw) return std::nullopt;
    return pair_rows{image, 2 * py, 2 * px};
}

} // namespace maso::kernels::detail
