// maso/kernels/implicit_conv.hpp — a convolution's operands for kernels/gemm.hpp, never
// materialised: implicit GEMM.
//
// As im2col (kernels/im2col.hpp) a convolution is Z = W · cols, dW += dZ · colsᵀ and
// dx = col2im(Wᵀ · dZ), with cols[tap][column] = x at the tap's offset from the
// column's output pixel (0 in the padding). cols has Cin·K·K times as many entries
// as x — 113 MB for a 96-channel 32×32 map at batch 32 — so instead of writing it
// and reading it back, the products gather it straight from x into their packed
// panels, the only form in which they ever read an operand:
//
//   patch_rows      B of Z = W · cols (nn): a panel row is one tap over NR columns
//   patch_columns   B of dW = dZ · colsᵀ (nt): a panel row is one column over NR taps
//   patch_scatter   the epilogue of dcols = Wᵀ · dZ (tn): each finished tile is added
//                   into dx where col2im would put it, so dcols is never stored either
//
// Column order. Which output pixel a column of Z stands for is free — Z is internal
// to a fused group — and `patch_order` chooses it: `natural`, column = (n·Ho + oy)·Wo
// + ox, maso's channel-major layout; or `windows(k, L)`, which lays the k×k pooling
// windows across a GEMM tile: L consecutive windows (in the pooled map's natural
// order) make a group of k²·L columns, member r = (dy, dx) of window l at column
// r·L + l. With k²·L = NR (2×2 windows and 16 float lanes on AVX-512) a tile of C
// holds, per row, k² batches whose lanes are the members r of the same L windows,
// and pooling is lane-wise across them, in registers (plan/lower.hpp). When the
// window count is not a multiple of L the last group is padded with columns that
// read 0 and are never scattered.
//
// Every gather runs along a "run": columns whose pixels lie on one output row at a
// fixed step (1 in natural order, k in window order), so that its input entries are
// equally spaced in one row of x. The packers read x zero-padded (pad_input, one
// pass into the layer's scratch): a run then never needs clipping, and packing a
// panel row is a few masked loads — the B operand of a convolution is used by only
// Cout rows of W, so the packing's cost per element is what decides its speed.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/im2col.hpp>
#include <maso/kernels/patch_order.hpp>
#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace maso::kernels {

/// Elements of x zero-padded by g.pad on every side of every plane.
constexpr std::size_t padded_size(const conv_geometry& g) {
    return g.channels * g.batch * (g.height + 2 * g.pad) * (g.width + 2 * g.pad);
}

namespace detail {
/// Fetches the cache lines of [p, p + n) into L1 ahead of their use.
template <class T>
void prefetch_lines(const T* p, std::size_t n) {
    constexpr std::uintptr_t line = 64;
    const auto end = reinterpret_cast<std::uintptr_t>(p + n);
    for (auto a = reinterpret_cast<std::uintptr_t>(p) & ~(line - 1); a < end; a += line)
        __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 3);
}
} // namespace detail

/// How x's H×W planes are laid out: maso's channel-major [C][N][H][W], or the
/// images' own [N][C][H][W] at the network's input edge.
enum class plane_layout { channel_major, images };

/// xp = x with g.pad zeros around every H×W plane: xp[c][n][H + 2P][W + 2P]. With
/// P = 0 the packers read x itself. From `images` this is also the conversion to
/// channel-major, one pass where the network's input would take two. Planes are
/// shared among the pool's threads.
///
/// From images, each row of the next plane is fetched while the same row of this one
/// is copied: consecutive planes are C planes apart, every one starting on a page of
/// its own, where the hardware prefetcher does not follow. The pass took 1.7× a copy
/// of the same bytes without the fetch (a batch of 32 × 96×32×32, 1 thread), about 1×
/// with it. Channel-major planes follow one another, and the same fetch made their
/// pass 1.3× slower.
template <class T>
void pad_input(const conv_geometry& g, const T* x, T* xp,
               plane_layout from = plane_layout::channel_major) {
    const std::size_t P = g.pad, hp = g.height + 2 * P, wp = g.width + 2 * P;
    const std::size_t planes = g.channels * g.batch;
    // Plane p is (c, n) = (p / N, p % N); from images it is x's plane n·C + c.
    const auto source = [&](std::size_t p) {
        const std::size_t q =
            from == plane_layout::channel_major ? p : p % g.batch * g.channels + p / g.batch;
        return x + q * g.height * g.width;
    };
    parallel_for(planes, [&](std::size_t p0, std::size_t p1, std::size_t) {
        for (std::size_t p = p0; p < p1; ++p) {
            const T* src = source(p);
            const T* next = from == plane_layout::images && p + 1 < p1 ? source(p + 1) : nullptr;
            T* dst = xp + p * hp * wp;
            std::fill_n(dst, P * wp, T(0));
            for (std::size_t y = 0; y < g.height; ++y) {
                if (next) detail::prefetch_lines(next + y * g.width, g.width);
                T* row = dst + (P + y) * wp;
                std::fill_n(row, P, T(0));
                std::copy_n(src + y * g.width, g.width, row + P);
                std::fill_n(row + P + g.width, P, T(0));
            }
            std::fill_n(dst + (P + g.height) * wp, P * wp, T(0));
        }
    });
}

/// dx = the interior of dxp (pad_input's layout): the gradient that reached the
/// padding is dropped, as it belongs to no input.
template <class T>
void unpad_output(const conv_geometry& g, const T* dxp, T* dx) {
    const std::size_t P = g.pad, hp = g.height + 2 * P, wp = g.width + 2 * P;
    parallel_for(g.channels * g.batch, [&](std::size_t p0, std::size_t p1, std::size_t) {
        for (std::size_t p = p0; p < p1; ++p)
            for (std::size_t y = 0; y < g.height; ++y)
                std::copy_n(dxp + (p * hp + P + y) * wp + P, g.width,
                            dx + (p * g.height + y) * g.width);
    });
}

namespace detail {

/// `count` columns whose pixels are (n, oy, ox0 + i·step), i < count; image n < 0
/// (here: `padding`) marks columns that stand for no pixel.
struct patch_run {
    std::size_t offset; ///< of the first column, from the first column asked for
    std::size_t count;
    std::size_t n, oy, ox0, step;
    bool padding;
};

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

/// dst[i] = src[i·stride], i < n, stride 1 or 2, with AVX-512 masked loads and
/// stores: window-order runs are at most 16 entries at stride 2 (every other input
/// column), too short for a full-batch loop, and a masked load never touches the
/// elements it leaves out, so nothing past the run's last input is read.
#if defined(__AVX512F__)
template <class Arch>
void gather_avx512(const float* src, std::size_t stride, float* dst, std::size_t n) {
    constexpr std::size_t W = 16;
    for (; n > 0; src += W * stride, dst += W) {
        const std::size_t m = std::min(n, W);
        const __mmask16 out = __mmask16((1u << m) - 1);
        __m512 v;
        if (stride == 1) {
            v = _mm512_maskz_loadu_ps(out, src);
        } else {
            // Entries 0..m−1 read src[0, 2m−1): the low batch's first min(2m−1, 16)
            // elements and the rest from the high one; even elements of the pair.
            const std::size_t span = 2 * m - 1;
            const __mmask16 lo = __mmask16(span >= W ? 0xffffu : (1u << span) - 1);
            const __mmask16 hi = __mmask16(span > W ? (1u << (span - W)) - 1 : 0);
            const __m512 a = _mm512_maskz_loadu_ps(lo, src);
            const __m512 b = _mm512_maskz_loadu_ps(hi, src + W);
            const __m512i even =
                _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
            v = _mm512_permutex2var_ps(a, even, b);
        }
        _mm512_mask_storeu_ps(dst, out, v);
        n -= m;
    }
}
#endif

#if defined(__AVX512F__)
/// d[i·stride] += src[i], i < n, stride 1 or 2: gather_avx512's adjoint. At stride 2
/// the entries are spread to the even lanes of two batches (the odd lanes add 0
/// and are masked off, so only the run's own elements are read and written).
template <class Arch>
void scatter_avx512(float* d, std::size_t stride, const float* src, std::size_t n) {
    constexpr std::size_t W = 16;
    for (; n > 0; src += W, d += W * stride) {
        const std::size_t m = std::min(n, W);
        const __mmask16 in = __mmask16((1u << m) - 1);
        const __m512 s = _mm512_maskz_loadu_ps(in, src);
        if (stride == 1) {
            _mm512_mask_storeu_ps(d, in, _mm512_add_ps(_mm512_maskz_loadu_ps(in, d), s));
        } else {
            const std::size_t span = 2 * m - 1;
            const __mmask16 lo = __mmask16(span >= W ? 0x5555u : ((1u << span) - 1) & 0x5555u);
            const __mmask16 hi = __mmask16(span > W ? ((1u << (span - W)) - 1) & 0x5555u : 0);
            const __m512i spread_lo =
                _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
            const __m512i spread_hi =
                _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
            const __m512 a = _mm512_maskz_permutexvar_ps(lo, spread_lo, s);
            const __m512 b = _mm512_maskz_permutexvar_ps(hi, spread_hi, s);
            _mm512_mask_storeu_ps(d, lo, _mm512_add_ps(_mm512_maskz_loadu_ps(lo, d), a));
            _mm512_mask_storeu_ps(d + W, hi, _mm512_add_ps(_mm512_maskz_loadu_ps(hi, d + W), b));
        }
        n -= m;
    }
}
#endif

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

} // namespace detail

namespace detail {

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

/// dst[i·ds] = src[i·stride], i < n.
template <class Arch, class T>
[[gnu::always_inline]] inline void copy_strided(const T* src, std::size_t stride, T* dst,
                                                std::size_t ds, std::size_t n) {
#if defined(__AVX512F__)
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float>) {
        if (ds == 1 && (stride == 1 || stride == 2)) {
            gather_avx512<Arch>(src, stride, dst, n);
            return;
        }
    }
#endif
    std::size_t i = 0;
    if (stride == 1 && ds == 1) {
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size;
        for (; i + W <= n; i += W)
            batch::load_unaligned(src + i).store_unaligned(dst + i);
    }
    for (; i < n; ++i)
        dst[i * ds] = src[i * stride];
}

/// dst[i·stride] += src[i], i < n: copy_strided's adjoint.
template <class Arch, class T>
[[gnu::always_inline]] inline void add_strided(const T* src, T* dst, std::size_t stride,
                                               std::size_t n) {
#if defined(__AVX512F__)
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float>) {
        if (stride == 1 || stride == 2) {
            scatter_avx512<Arch>(dst, stride, src, n);
            return;
        }
    }
#endif
    for (std::size_t i = 0; i < n; ++i)
        dst[i * stride] += src[i];
}

} // namespace detail

namespace detail {

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

#if defined(__AVX512F__)
/// r[i][j] ← r[j][i] for 16 rows of 16 floats: 2×2 blocks of pairs (unpack ps), of
/// 4×4 (unpack pd), then the 128-bit blocks across rows in two shuffles. After the
/// second stage, u[4g + s] holds in its block q column 4q + s of rows 4g … 4g + 3.
[[gnu::always_inline]] inline void transpose_16x16(__m512 (&r)[16]) {
    __m512 t[16];
    for (std::size_t i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    __m512 u[16];
    for (std::size_t g = 0; g < 4; ++g) {
        const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (std::size_t s = 0; s < 4; ++s) {
        const __m512 p0 = _mm512_shuffle_f32x4(u[s], u[4 + s], 0x44);
        const __m512 p1 = _mm512_shuffle_f32x4(u[s], u[4 + s], 0xee);
        const __m512 q0 = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0x44);
        const __m512 q1 = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0xee);
        r[s] = _mm512_shuffle_f32x4(p0, q0, 0x88);
        r[4 + s] = _mm512_shuffle_f32x4(p0, q0, 0xdd);
        r[8 + s] = _mm512_shuffle_f32x4(p1, q1, 0x88);
        r[12 + s] = _mm512_shuffle_f32x4(p1, q1, 0xdd);
    }
}
#endif

/// patch_rows's panels read in place by the GEMM's micro-kernel (kernels/gemm.hpp):
/// row k of the panel is batch v at p + col[v], where p walks the padded input tap
/// by tap — one column, then the next row at the K-th, the next channel at the K²-th.
/// With `pairs`, the batches are two output rows of 2W pixels each ([row 0: W, W]
/// [row 1: W, W]), and finish() deinterleaves them in registers into window order:
/// batch r = member (r / 2, r % 2) of the W windows.
template <class Arch, class Blocking, class T>
struct patch_reader {
    using batch = xsimd::batch<T, Arch>;
    static constexpr std::size_t NV = Blocking::NV;
    const T* p;
    std::size_t kx, ky, K;
    std::size_t row_step;     ///< from the end of a tap row to the next row's start
    std::size_t channel_step; ///< from the end of K rows to the next channel's start
    std::size_t col[NV];
    bool pairs;

    std::size_t ahead; ///< one channel of the padded input

    /// The same tap's batches one channel on: a channel's rows are the next stretch of
    /// B this panel reads from L2 (measured 1.5% faster; only when the fetch is
    /// unconditional — a branch here cost the accumulators their registers).
    [[gnu::always_inline]] void prefetch() const {
        unroll<NV>([&](auto v) __attribute__((always_inline)) {
            __builtin_prefetch(p + ahead + col[v], 0, 3);
        });
    }
    [[gnu::always_inline]] batch load(std::size_t v) const {
        return batch::load_unaligned(p + col[v]);
    }
    [[gnu::always_inline]] void next() {
        ++p;
        if (++kx == K) {
            kx = 0;
            p += row_step;
            if (++ky == K) ky = 0, p += channel_step;
        }
    }
    template <std::size_t MR>
    [[gnu::always_inline]] void finish(batch (&acc)[MR][NV]) const {
#if defined(__AVX512F__)
        if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float> &&
                      NV == 4) {
            if (!pairs) return;
            const __m512i even =
                _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
            const __m512i odd =
                _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
            // Constant indices only: the accumulators must stay in registers.
            unroll<MR>([&](auto i) __attribute__((always_inline)) {
                unroll<2>([&](auto dy) __attribute__((always_inline)) {
                    const __m512 l = acc[i][2 * dy], h = acc[i][2 * dy + 1];
                    acc[i][2 * dy] = _mm512_permutex2var_ps(l, even, h);
                    acc[i][2 * dy + 1] = _mm512_permutex2var_ps(l, odd, h);
                });
            });
        }
#else
        (void)acc;
#endif
    }
};

} // namespace detail

/// B of Z = W · cols: K = the Cin·K·K taps, N = the columns of `order`, read from
/// xp = pad_input(x). MaxN bounds the block width nc (the GEMM's NC).
///
/// At stride 1 a panel whose every batch of W columns is W neighbouring pixels of
/// one output row needs no packing: tap by tap, its batches are W neighbouring
/// entries of one row of xp, which the micro-kernel loads in place (`direct`; the
/// packing cost ≈ 10% of the product with Cout = 96, as each packed entry serves
/// only Cout/MR micro-kernel calls). In natural order that is every panel when W
/// divides the output width. In 2×2-window order with AVX-512 float (W windows per
/// tile), a tile's windows are W neighbours in one pooled row: the micro-kernel
/// loads the two output rows under them as they lie and deinterleaves the finished
/// tile into window order (patch_reader::finish). `in_place = false` packs every
/// panel (the tests compare both: the sums are the same, in the same order).
template <class T, std::size_t MaxN>
struct patch_rows {
    conv_geometry g;
    patch_order order;
    const T* xp;
    bool in_place = true;

    template <class Arch, class Blocking>
    std::optional<detail::patch_reader<Arch, Blocking, T>> direct(std::size_t pc, std::size_t j0,
                                                                  std::size_t n) const {
        constexpr std::size_t W = xsimd::batch<T, Arch>::size, NV = Blocking::NV;
        if (!in_place || g.stride != 1 || n != NV * W) return std::nullopt;
        const std::size_t ho = g.out_height(), wo = g.out_width();
        const std::size_t hp = g.height + 2 * g.pad, wp = g.width + 2 * g.pad;
        detail::patch_reader<Arch, Blocking, T> r{};
        if (order.is_natural()) {
            for (std::size_t v = 0; v < NV; ++v) {
                const std::size_t j = j0 + v * W, image = j / (ho * wo), q = j % (ho * wo);
                const std::size_t oy = q / wo, ox = q % wo;
                if (ox + W > wo) return std::nullopt;
                r.col[v] = (image * hp + oy) * wp + ox;
            }
        } else {
            constexpr bool lanes_fit =
                std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float> && NV == 4;
            if constexpr (!lanes_fit) {
                return std::nullopt;
            } else {
                const auto at = detail::pair_rows_of(g, order, j0 / (NV * W), W);
                if (!at) return std::nullopt;
                const std::size_t first = (at->image * hp + at->oy) * wp + at->ox;
                r.col[0] = first, r.col[1] = first + W, r.col[2] = first + wp,
                r.col[3] = first + wp + W;
                r.pairs = true;
            }
        }
        const detail::tap_offsets tap(g, pc);
        r.p = xp + *tap;
        r.kx = tap.kx, r.ky = tap.ky, r.K = g.kernel;
        r.row_step = wp - g.kernel;
        r.channel_step = (tap.plane - g.kernel) * wp;
        r.ahead = tap.plane * wp;
        return r;
    }

    template <class Arch, std::size_t NR>
    void pack(T* dst, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) const {
        // The runs of the whole block once; then tap by tap, each run into its panel.
        detail::patch_run scratch[MaxN];
        detail::padded_run runs[MaxN];
        const std::size_t count =
            detail::padded_runs(g, order, jc, nc, NR, scratch, runs,
                                [kc](std::size_t j) { return j / NR * NR * kc + j % NR; });
        const std::size_t stride = g.stride * (order.is_natural() ? 1 : order.window);
        const std::size_t tail = nc % NR, last = nc / NR * NR * kc;
        detail::tap_offsets tap(g, pc);
        for (std::size_t k = 0; k < kc; ++k, tap.next()) {
            const T* base = xp + *tap;
            T* row = dst + k * NR;
            for (std::size_t r = 0; r < count; ++r) {
                const detail::padded_run& u = runs[r];
                if (u.padding)
                    std::fill_n(row + u.dst, u.count, T(0));
                else
                    detail::copy_strided<Arch>(base + u.src, stride, row + u.dst, 1, u.count);
            }
            if (tail)
                for (std::size_t j = tail; j < NR; ++j)
                    dst[last + k * NR + j] = T(0);
        }
    }
};

/// B of dW = dZ · colsᵀ: K = the columns of `order`, N = the taps, read from
/// xp = pad_input(x). MaxK bounds the block depth kc (the GEMM's KC).
template <class T, std::size_t MaxK>
struct patch_columns {
    conv_geometry g;
    patch_order order;
    const T* xp;

    template <class Arch, std::size_t NR>
    void pack(T* dst, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) const {
        detail::patch_run scratch[MaxK];
        detail::padded_run runs[MaxK];
        const std::size_t count = detail::padded_runs(g, order, pc, kc, MaxK, scratch, runs,
                                                      [](std::size_t j) { return j * NR; });
        const std::size_t stride = g.stride * (order.is_natural() ? 1 : order.window);
        detail::tap_offsets tap(g, jc);
#if defined(__AVX512F__)
        if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float> &&
                      NR % 16 == 0) {
            if (padded_size(g) < (std::size_t(1) << 31)) {
                gather_rows<NR>(dst, kc, nc, runs, count, stride, tap);
                return;
            }
        }
#endif
        for (std::size_t jr = 0; jr < nc; jr += NR, dst += NR * kc) {
            const std::size_t taps = std::min(NR, nc - jr);
            for (std::size_t j = 0; j < taps; ++j, tap.next()) {
                const T* base = xp + *tap;
                for (std::size_t r = 0; r < count; ++r) {
                    const detail::padded_run& u = runs[r];
                    if (u.padding)
                        for (std::size_t i = 0; i < u.count; ++i)
                            dst[u.dst + i * NR + j] = T(0);
                    else
                        detail::copy_strided<Arch>(base + u.src, stride, dst + u.dst + j, NR,
                                                   u.count);
                }
            }
            if (taps < NR)
                for (std::size_t k = 0; k < kc; ++k)
                    for (std::size_t j = taps; j < NR; ++j)
                        dst[k * NR + j] = T(0);
        }
    }

private:
#if defined(__AVX512F__)
    /// A panel row is one column's entries for NR consecutive taps, and tap j's entry
    /// for the column at input offset p is xp[offset(j) + p]: so each row is NR/16
    /// AVX-512 gathers whose index vectors (the taps' offsets) are fixed per panel,
    /// shifted by p. Measured about twice as fast as storing one element at a time at
    /// a stride of NR, which was most of the weight gradient's packing. Lanes past
    /// the last tap are masked off and read as 0.
    template <std::size_t NR>
    void gather_rows(float* dst, std::size_t kc, std::size_t nc, const detail::padded_run* runs,
                     std::size_t count, std::size_t stride, detail::tap_offsets tap) const {
        constexpr std::size_t V = NR / 16;
        for (std::size_t jr = 0; jr < nc; jr += NR, dst += NR * kc) {
            const std::size_t taps = std::min(NR, nc - jr);
            alignas(64) std::int32_t offsets[NR] = {};
            for (std::size_t j = 0; j < taps; ++j, tap.next())
                offsets[j] = static_cast<std::int32_t>(*tap);
            __m512i index[V];
            __mmask16 lanes[V];
            for (std::size_t v = 0; v < V; ++v) {
                index[v] = _mm512_load_si512(offsets + 16 * v);
                const std::size_t live =
                    taps > 16 * v ? std::min<std::size_t>(16, taps - 16 * v) : 0;
                lanes[v] = __mmask16((1u << live) - 1);
            }
            for (std::size_t r = 0; r < count; ++r) {
                const detail::padded_run& u = runs[r];
                float* row = dst + u.dst; // u.dst = k·NR
                std::size_t i = 0;
                if (!u.padding && stride <= 2)
                    for (; i + 16 <= u.count; i += 16, row += 16 * NR)
                        transpose_block<NR>(row, offsets, taps, u.src + i * stride, stride);
                for (; i < u.count; ++i, row += NR) {
                    const __m512i at =
                        _mm512_set1_epi32(static_cast<std::int32_t>(u.src + i * stride));
                    for (std::size_t v = 0; v < V; ++v)
                        _mm512_store_ps(row + 16 * v,
                                        u.padding ? _mm512_setzero_ps()
                                                  : _mm512_mask_i32gather_ps(
                                                        _mm512_setzero_ps(), lanes[v],
                                                        _mm512_add_epi32(index[v], at), xp, 4));
                }
            }
        }
    }

    /// 16 columns of a run at once, their input entries xp[offset(j) + src + i·stride],
    /// i < 16: per batch of 16 taps, 16 loads along the run (stride 2: two loads and
    /// the even lanes) and a 16×16 transpose in registers into 16 panel rows — about
    /// half the time of 16 gathers. Taps past `taps` are 0.
    template <std::size_t NR>
    void transpose_block(float* row, const std::int32_t* offsets, std::size_t taps, std::size_t src,
                         std::size_t stride) const {
        const __m512i even =
            _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        for (std::size_t v = 0; v < NR / 16 && 16 * v < taps; ++v) {
            __m512 r[16];
            for (std::size_t j = 0; j < 16; ++j) {
                if (16 * v + j >= taps) {
                    r[j] = _mm512_setzero_ps();
                    continue;
                }
                const float* p = xp + offsets[16 * v + j] + src;
                // The 32nd entry at stride 2 lies past the run: never read.
                r[j] = stride == 1 ? _mm512_loadu_ps(p)
                                   : _mm512_permutex2var_ps(_mm512_loadu_ps(p), even,
                                                            _mm512_maskz_loadu_ps(0x7fff, p + 16));
            }
            detail::transpose_16x16(r);
            for (std::size_t i = 0; i < 16; ++i)
                _mm512_store_ps(row + i * NR + 16 * v, r[i]);
        }
        for (std::size_t v = (taps + 15) / 16; v < NR / 16; ++v) // whole batches past the taps
            for (std::size_t i = 0; i < 16; ++i)
                _mm512_store_ps(row + i * NR + 16 * v, _mm512_setzero_ps());
    }
#endif
};

// ---- dx as a convolution --------------------------------------------------------------
//
// At stride 1, dx = col2im(Wᵀ · dZ) is itself a convolution: of dZ, zero-padded by
// Q = K − 1 − P, with the filters transposed (input and output channels swapped)
// and flipped (tap (ky, kx) ↔ (K−1−ky, K−1−kx)):
//   dx[c][n][y][x] = Σ_{o, ky, kx} Wt[c][(o·K + ky)·K + kx] · dzp[o][n][y + ky][x + kx].
// Its B operand is patch_rows over the padded dZ, read in place like the forward's,
// and dx comes out of the GEMM whole: no tile is scattered, nothing is zeroed first.

/// The geometry of that convolution, for a forward geometry g of `filters` filters
/// at stride 1: dZ's maps padded by K − 1 − P, whose output is g's input.
constexpr conv_geometry transposed_geometry(const conv_geometry& g, std::size_t filters) {
    return {filters, g.batch, g.out_height(), g.out_width(), g.kernel, 1, g.kernel - 1 - g.pad};
}

/// wt[c][(o·K + ky)·K + kx] = w[o][(c·K + K−1−ky)·K + K−1−kx]: the transposed, flipped
/// filters (Cin rows of filters·K² taps) of transposed_geometry's convolution.
template <class T>
void flip_filters(const T* w, std::size_t filters, std::size_t channels, std::size_t K, T* wt) {
    const std::size_t taps = K * K;
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t o = 0; o < filters; ++o)
            for (std::size_t t = 0; t < taps; ++t)
                wt[(c * filters + o) * taps + t] = w[(o * channels + c) * taps + taps - 1 - t];
}

/// dzp = dZ, whose columns are in order `o` of the forward geometry g (stride 1), as
/// pad_input lays out the input of transposed_geometry(g, filters): each filter's
/// maps zero-padded by K − 1 − P, zero too at pixels no column stands for (those
/// outside whole windows, which the window order leaves out). Filters are shared
/// among the pool's threads.
template <class Arch, class T>
void pad_columns(const conv_geometry& g, patch_order o, std::size_t filters, const T* dz, T* dzp) {
    const conv_geometry t = transposed_geometry(g, filters);
    if (o.is_natural()) {
        pad_input(t, dz, dzp);
        return;
    }
    const std::size_t hp = t.height + 2 * t.pad, wp = t.width + 2 * t.pad;
    const std::size_t plane = g.batch * hp * wp, n = o.columns(g);
    parallel_for(filters, [&](std::size_t f0, std::size_t f1, std::size_t) {
        std::fill(dzp + f0 * plane, dzp + f1 * plane, T(0));
        constexpr std::size_t chunk = 64;
        detail::patch_run runs[chunk];
        for (std::size_t j0 = 0; j0 < n; j0 += chunk) {
#if defined(__AVX512F__)
            if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float>) {
                // A group of 16 windows in one pooled row: its four members, batches
                // of 16, interleave in pairs into the two output rows under them.
                if (const auto at = detail::pair_rows_of(g, o, j0 / chunk, 16)) {
                    const __m512i lo =
                        _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
                    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26,
                                                        10, 25, 9, 24, 8);
                    const std::size_t first =
                        (at->image * hp + t.pad + at->oy) * wp + t.pad + at->ox;
                    for (std::size_t f = f0; f < f1; ++f) {
                        const float* m = dz + f * n + j0;
                        float* row = dzp + f * plane + first;
                        for (std::size_t dy = 0; dy < 2; ++dy, row += wp) {
                            const __m512 a = _mm512_loadu_ps(m + 32 * dy);
                            const __m512 b = _mm512_loadu_ps(m + 32 * dy + 16);
                            _mm512_storeu_ps(row, _mm512_permutex2var_ps(a, lo, b));
                            _mm512_storeu_ps(row + 16, _mm512_permutex2var_ps(a, hi, b));
                        }
                    }
                    continue;
                }
            }
#endif
            const std::size_t count = detail::patch_runs(g, o, j0, std::min(chunk, n - j0), runs);
            for (std::size_t f = f0; f < f1; ++f)
                for (std::size_t r = 0; r < count; ++r) {
                    const detail::patch_run& u = runs[r];
                    if (u.padding) continue;
                    T* row = dzp + f * plane + (u.n * hp + t.pad + u.oy) * wp + t.pad + u.ox0;
                    detail::add_strided<Arch>(dz + f * n + j0 + u.offset, row, u.step, u.count);
                }
        }
    });
}

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
                    detail::add_strided<arch>(tile + i * NR + r[k].dst, base + r[k].src, stride,
                                              r[k].count);
        }
    }
};

} // namespace maso::kernels
