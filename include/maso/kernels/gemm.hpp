// maso/kernels/gemm.hpp — packed, register-blocked matrix products (row-major).
//
//   gemm_nn: C (+)= A · B      A: M×K, B: K×N     forward of dense and conv
//   gemm_nt: C (+)= A · Bᵀ     A: M×K, B: N×K     weight gradients dW = dZ · Xᵀ
//   gemm_tn: C (+)= Aᵀ · B     A: K×M, B: K×N     input gradients dX = Wᵀ · dZ
//
// `accumulate` adds to C instead of overwriting it (with K = 0 the product is 0).
//
// The structure is Goto's (Goto & van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication", ACM TOMS 34(3), 2008), written row-major: MR rows of A are
// broadcast one element at a time against NV batches of a row of B, and the MR×NR
// tile of C (NR = NV·W) stays in registers for a whole block of KC steps.
//
//   for jc in N by NC          B block KC×NC packed once per (jc, pc): lives in L2
//    for pc in K by KC
//     for ic in M by MC        tn only: A block MC×KC packed (96 KiB of float)
//      for ir in MC by MR      A micro-panel MR×KC: lives in L1 for the jr sweep
//       for jr in NC by NR     B micro-panel KC×NR: streamed from L2
//        micro_kernel          C[ir.., jc+jr..] (+)= A panel · B panel
//
// The three products share that micro-kernel, which reads A through two strides;
// a transpose is only a different packing:
//   - B is packed into aligned KC×NR panels: a row copy for nn and tn, a gather
//     (transpose) for nt.
//   - A needs no copy when it is row-major (nn, nt): the micro-kernel broadcasts
//     straight from MR rows of A, which L1 holds for the jr sweep; copying them
//     first would add a pass over A from L3 per (jc, pc). For tn, A (K×M) is packed
//     interleaved, element (i, k) at k·MR + i, which is a copy as well.
// Tails are zeros: the last A panel is copied with zero rows below it, B panels
// are padded with zero columns, and the micro-kernel always computes a full tile;
// a tile that sticks out of C goes through a small temporary, of which only the
// part inside C is stored.
//
// B read in place. A source may also offer panels the micro-kernel can read where
// they lie (`direct`, see has_in_place): a convolution's patches at stride 1 are
// rows of its padded input at a fixed offset per tap (kernels/implicit_conv.hpp),
// so packing them — a copy that each of only Cout/MR micro-kernel calls then reads —
// is skipped. The micro-kernel takes its B rows from a reader (packed_panel or the
// source's), which may also reorder the finished tile's columns in registers.
//
// Workspace: the packed blocks live in one thread_local buffer per (Arch, T),
// allocated by the first product on each thread for the largest blocks of any
// product (KC·NC + MC·KC elements: 608 KiB for float, 704 KiB for double) and never
// again, so that a network's forward and backward passes allocate nothing after
// the first call whatever their shapes. Only the pages a product touches are
// written. A product must not start another one on the same thread while it runs
// (an epilogue must not run a product).
//
// Epilogues. A tile of C is final at the end of the micro-kernel of the last k
// block, while it is still in registers: `gemm(…, epi)` hands each such tile — the
// MR×NV batches, its origin (i0, j0) and the part inside C (m, n) — to
// `epi(acc, i0, j0, m, n)`, which then owns it (stores it, or applies bias, units
// and pooling first and stores something else: plan/lower.hpp). Earlier k blocks
// store their partial sums to C as usual; a product given no C runs K as one block.
// Per-row epilogues (per channel in maso's [channel][pixel] layout) need only i0;
// pooling needs whole windows in a tile, which the B source arranges by the order
// in which it packs columns (layers/conv2d.hpp). Backward epilogues — the unit's
// derivative applied to dY — belong where each element passes once, before the
// products that read dZ.
//
// Threads: `gemm` splits C between the pool's threads by blocks of whole tiles
// (columns, or rows for an epilogue that needs whole channels); see gemm().
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace maso::kernels {

namespace detail {

/// Register and cache blocking for one arch and value type, chosen by measurement
/// on Zen 4 (32 KiB L1d and 1 MiB L2 per core; bench/gemm_bench.cpp).
///
/// Registers: MR×NV accumulators, NV batches of B and one broadcast of A must fit
/// the register file — 32 vector registers with AVX-512, 16 otherwise (SSE2, which
/// has no FMA, needs one more for the product). Zen 4 executes a 512-bit FMA as two
/// 256-bit halves, one per cycle with latency 4, so every tile with ≥ 8 accumulators
/// hides the latency; of 6×4, 8×3, 12×2 and 14×2 batches, 6×4 measured best (10
/// loads per 24 FMA; NR = 64 floats divides the powers of two). With 16 registers,
/// the classic 6×2 (4×3 ran at two thirds of its speed).
///
/// KC = 256: the A micro-panel (6 KiB of float, 12 KiB of double) stays in L1 for a
/// whole jr sweep while B streams past it. NC makes the B block KC×NC half of L2
/// (512 KiB: NC = 512 floats or 256 doubles). KC×NC = 512×256 and 384×384 measured
/// the same or worse, and so did BLIS's order of the two inner loops (the B
/// micro-panel in L1, A streamed): the B micro-panel then has to fit L1, which
/// leaves KC ≤ 64.
/// Values of T in a 64-byte cache line: the unit of the prefetches below.
template <class T>
inline constexpr std::size_t cache_line = 64 / sizeof(T);

template <class Arch, class T>
struct gemm_blocking {
    static constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    static constexpr std::size_t MR = 6;
    static constexpr std::size_t NV = std::is_base_of_v<xsimd::avx512f, Arch> ? 4 : 2;
    static constexpr std::size_t NR = NV * W;
    static constexpr std::size_t KC = 256;
    static constexpr std::size_t NC = 512 * 1024 / (KC * sizeof(T)) / NR * NR;
    /// Rows of a packed A block (tn only): 96×256 floats, 96 KiB of L2.
    static constexpr std::size_t MC = 16 * MR;
    /// k steps of B to prefetch ahead in the micro-kernel (measured: 2 to 8 alike).
    static constexpr std::size_t prefetch_b = 2;
    /// k steps before the end of the micro-kernel at which C's tile is fetched.
    static constexpr std::size_t prefetch_c = 32;
    /// Bytes of an operand read in place beyond which it is taken to live outside L2
    /// (this machine's is 1 MiB per core; the packed B block holds half of it).
    static constexpr std::size_t l2_share = 512 * 1024;
};

/// a·b + c fused. xsimd 8.1 has no AVX-512 fma: its generic a*b + c is contracted
/// by GCC but not by clang, which would halve the kernel's throughput there.
template <class Arch, class T>
[[gnu::always_inline]] inline xsimd::batch<T, Arch>
gemm_fma(xsimd::batch<T, Arch> a, xsimd::batch<T, Arch> b, xsimd::batch<T, Arch> c) noexcept {
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float>)
        return _mm512_fmadd_ps(a, b, c);
    else if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>)
        return _mm512_fmadd_pd(a, b, c);
    else
        return xsimd::fma(a, b, c);
}

/// f(integral_constant<0>), …, f(integral_constant<N−1>): unrolled in the source, so
/// that the accumulators are indexed by constants and live in registers. Every f here
/// is marked always_inline too: with an epilogue the micro-kernel grows past g++'s
/// inlining budget, and its tile loads and stores became calls, one per row (perf,
/// the MLP: 7% of the forward, against 4% unfused).
template <class F, std::size_t... I>
[[gnu::always_inline]] inline void gemm_unroll(F&& f, std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
}
template <std::size_t N, class F>
[[gnu::always_inline]] inline void gemm_unroll(F&& f) {
    gemm_unroll(f, std::make_index_sequence<N>{});
}

/// A read-only matrix view: element (r, c) is p[r·rs + c·cs]. Every operand here
/// has rs == 1 or cs == 1.
template <class T>
struct strided {
    const T* p;
    std::size_t rs, cs;
};

/// dst[k·P + i] = src[i·ld + k] for i < rows, 0 for rows ≤ i < P, k < kc: a panel
/// whose P lines run along k in the source (B in nt), so packing transposes.
template <class Arch, std::size_t P, class T>
void pack_gather(T* dst, const T* src, std::size_t ld, std::size_t rows, std::size_t kc) {
    if (rows == P) {
        // Eight k at a time: each source line is read in runs of eight, and the
        // panel's eight rows are written while they are in L1.
        std::size_t k = 0;
        for (; k + 8 <= kc; k += 8, dst += 8 * P)
            for (std::size_t i = 0; i < P; ++i) {
                const T* s = src + i * ld + k;
                for (std::size_t u = 0; u < 8; ++u)
                    dst[u * P + i] = s[u];
            }
        for (; k < kc; ++k, dst += P)
            for (std::size_t i = 0; i < P; ++i)
                dst[i] = src[i * ld + k];
        return;
    }
    for (std::size_t k = 0; k < kc; ++k, dst += P) {
        std::size_t i = 0;
        for (; i < rows; ++i)
            dst[i] = src[i * ld + k];
        for (; i < P; ++i)
            dst[i] = T(0);
    }
}

/// dst[k·P + j] = src[k·ld + j] for j < cols, 0 for cols ≤ j < P, k < kc: a panel
/// whose P lines lie side by side in the source (B in nn and tn, A in tn).
template <class Arch, std::size_t P, class T>
void pack_copy(T* dst, const T* src, std::size_t ld, std::size_t cols, std::size_t kc) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size;
    if constexpr (P % W == 0) {
        if (cols == P) {
            for (std::size_t k = 0; k < kc; ++k, dst += P, src += ld)
                gemm_unroll<P / W>([&](auto v) __attribute__((always_inline)) {
                    batch::load_unaligned(src + v * W).store_aligned(dst + v * W);
                });
            return;
        }
    }
    for (std::size_t k = 0; k < kc; ++k, dst += P, src += ld) {
        std::size_t j = 0;
        for (; j < cols; ++j)
            dst[j] = src[j];
        for (; j < P; ++j)
            dst[j] = T(0);
    }
}

/// The mc×kc block of a column-major A (tn: element (i, k) at src[k·ld + i]) as
/// interleaved panels of P rows — panel p holds (p·P + i, k) at p·P·kc + k·P + i —
/// with zero rows below the last one. Each row k of the block is read as one run
/// of the source: per panel, packing would read P elements from each of kc lines,
/// which measured 10% of a 256² product. Within a full panel whole batches are
/// copied per k: their overrun of `over` elements lands on the panel's next rows,
/// which are written after it, and the last `tail` rows, whose overrun would leave
/// the panel, are copied element by element. `avail` is the number of elements
/// readable from each source row at src (M − ic): batches must not read past it.
template <class Arch, std::size_t P, class T>
void pack_columns(T* dst, const T* src, std::size_t ld, std::size_t mc, std::size_t avail,
                  std::size_t kc) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size, V = (P + W - 1) / W, over = V * W - P;
    constexpr std::size_t tail = (over + P - 1) / P;
    const std::size_t full = mc / P * P;
    // Full panels whose batches stay inside the source row.
    const std::size_t wide = avail >= P + over ? std::min(full, (avail - over) / P * P) : 0;
    const std::size_t body = kc > tail ? kc - tail : 0;
    for (std::size_t k = 0; k < kc; ++k) {
        const T* s = src + k * ld;
        T* d = dst + k * P;
        std::size_t p = 0;
        if (k < body)
            for (; p < wide; p += P, d += P * kc)
                gemm_unroll<V>([&](auto v) __attribute__((always_inline)) {
                    batch::load_unaligned(s + p + v * W).store_unaligned(d + v * W);
                });
        for (; p < full; p += P, d += P * kc)
            for (std::size_t i = 0; i < P; ++i)
                d[i] = s[p + i];
    }
    if (full < mc) pack_copy<Arch, P>(dst + full * kc, src + full, ld, mc - full, kc);
}

/// dst[i·kc + k] = src[i·ld + k] for i < rows, 0 for rows ≤ i < P, k < kc: the last,
/// partial panel of a row-major A, kept as rows so that it has the layout the
/// micro-kernel reads the other panels of A in.
template <class Arch, std::size_t P, class T>
void pack_rows(T* dst, const T* src, std::size_t ld, std::size_t rows, std::size_t kc) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size;
    const std::size_t body = kc - kc % W; // the scalar tail is < W values
    for (std::size_t i = 0; i < rows; ++i, dst += kc, src += ld) {
        for (std::size_t k = 0; k < body; k += W)
            batch::load_unaligned(src + k).store_unaligned(dst + k);
        for (std::size_t t = 0; t < kc % W; ++t)
            dst[body + t] = src[body + t];
    }
    // Plain loops rather than std::fill and std::copy, whose instantiations would be
    // shared by translation units built for different ISAs.
    // rows ≤ P by the caller; the guard also tells the optimiser so (g++ -O3 otherwise
    // warns of a wrapped count from (P − rows) with rows > P).
    const std::size_t padding = rows < P ? (P - rows) * kc : 0;
    for (std::size_t e = 0; e < padding; ++e)
        dst[e] = T(0);
}

/// Packs the kc×nc block of B at (pc, jc) into NR-column panels of kc×NR each.
template <class Arch, std::size_t NR, class T>
void pack_b(T* dst, strided<T> b, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) {
    const std::size_t full = nc / NR * NR;
    if (b.cs == 1) {
        // Row by row across the full panels: each row of the block is one run of the
        // source. The run a few rows ahead is fetched meanwhile: with a leading
        // dimension of a page or more (B of a 1024² product) every run starts on a new
        // page, where the hardware prefetcher does not follow.
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size, line = cache_line<T>, ahead = 4;
        static_assert(NR % W == 0);
        for (std::size_t k = 0; k < kc; ++k) {
            const T* src = b.p + (pc + k) * b.rs + jc;
            if (k + ahead < kc)
                for (std::size_t j = 0; j < nc; j += line)
                    __builtin_prefetch(src + ahead * b.rs + j, 0, 3);
            T* d = dst + k * NR;
            for (std::size_t jr = 0; jr < full; jr += NR, d += NR * kc)
                gemm_unroll<NR / W>([&](auto v) __attribute__((always_inline)) {
                    batch::load_unaligned(src + jr + v * W).store_aligned(d + v * W);
                });
        }
        if (full < nc)
            pack_copy<Arch, NR>(dst + full * kc, b.p + pc * b.rs + jc + full, b.rs, nc - full, kc);
        return;
    }
    for (std::size_t jr = 0; jr < nc; jr += NR, dst += NR * kc) // b.rs == 1
        pack_gather<Arch, NR>(dst, b.p + pc + (jc + jr) * b.cs, b.cs, std::min(NR, nc - jr), kc);
}

/// What a product does with a finished tile of C when no epilogue is given: it
/// stores it (see gemm's `Epi`).
struct no_epilogue {};

/// An epilogue behind a function pointer: what gemm_block and micro_kernel see of any
/// epilogue, so that they are compiled once per (ISA, value type, B source) instead of
/// once per epilogue — once per fused group of every network. The tile crosses the call
/// in memory: 24 vector stores and loads beside the kc·MR·NV multiply-adds of a tile.
template <class Arch, class T, std::size_t MR, std::size_t NV>
struct tile_callback {
    using batch = xsimd::batch<T, Arch>;
    void* self;
    void (*fn)(void*, batch (&)[MR][NV], std::size_t, std::size_t, std::size_t, std::size_t);

    /// A callback that runs `epi` (which must outlive it).
    template <class Epi>
    static tile_callback of(Epi& epi) noexcept {
        return {&epi,
                [](void* e, batch(&acc)[MR][NV], std::size_t i0, std::size_t j0, std::size_t m,
                   std::size_t n) { (*static_cast<Epi*>(e))(acc, i0, j0, m, n); }};
    }
};

/// acc into an aligned MR×NR buffer, row i at tile + i·NR: how the part of a tile
/// inside C is read or written when the tile sticks out of C.
template <class Arch, std::size_t MR, std::size_t NV, class T>
[[gnu::always_inline]] inline void spill_tile(const xsimd::batch<T, Arch> (&acc)[MR][NV], T* tile) {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size, NR = NV * W;
    gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
        gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) {
            acc[i][v].store_aligned(tile + i * NR + v * W);
        });
    });
}

/// acc += C[0..m, 0..n] for the tile at c: the partial sums of earlier k blocks (or
/// of the caller, when accumulating). Outside C the tile adds nothing.
template <class Arch, std::size_t MR, std::size_t NV, class T>
[[gnu::always_inline]] inline void add_tile(xsimd::batch<T, Arch> (&acc)[MR][NV], const T* c,
                                            std::size_t ldc, std::size_t m, std::size_t n) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size, NR = NV * W;
    if (m == MR && n == NR) {
        gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
            gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) {
                acc[i][v] = acc[i][v] + batch::load_unaligned(c + i * ldc + v * W);
            });
        });
        return;
    }
    alignas(64) T tile[MR * NR];
    spill_tile<Arch>(acc, tile);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            tile[i * NR + j] += c[i * ldc + j];
    gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
        gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) {
            acc[i][v] = batch::load_aligned(tile + i * NR + v * W);
        });
    });
}

/// C[0..m, 0..n] = acc: the part of the tile inside C.
template <class Arch, std::size_t MR, std::size_t NV, class T>
[[gnu::always_inline]] inline void store_tile(const xsimd::batch<T, Arch> (&acc)[MR][NV], T* c,
                                              std::size_t ldc, std::size_t m, std::size_t n) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size, NR = NV * W;
    if (m == MR && n == NR) {
        gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
            gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) {
                acc[i][v].store_unaligned(c + i * ldc + v * W);
            });
        });
        return;
    }
    alignas(64) T tile[MR * NR];
    spill_tile<Arch>(acc, tile);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            c[i * ldc + j] = tile[i * NR + j];
}

/// The B operand of one micro-kernel call as a packed, aligned panel: row k of the
/// panel at b + k·NR. Other readers (kernels/implicit_conv.hpp) read B where it lies.
/// A reader loads batch v of the current row, steps to the next row, and may put
/// the finished tile's columns in the order its source promises (`finish`).
template <class Arch, class Blocking, class T>
struct packed_panel {
    using batch = xsimd::batch<T, Arch>;
    static constexpr std::size_t W = batch::size, NR = Blocking::NR;
    const T* b;

    [[gnu::always_inline]] void prefetch() const {
        constexpr std::size_t line = cache_line<T>, lines = (NR + line - 1) / line;
        gemm_unroll<lines>([&](auto l) __attribute__((always_inline)) {
            __builtin_prefetch(b + Blocking::prefetch_b * NR + l * line, 0, 3);
        });
    }
    [[gnu::always_inline]] batch load(std::size_t v) const {
        return batch::load_aligned(b + v * W);
    }
    [[gnu::always_inline]] void next() { b += NR; }
    template <std::size_t MR, std::size_t NV>
    [[gnu::always_inline]] void finish(batch (&)[MR][NV]) const {}
};

/// The MR×NR tile at (i0, j0) of C (+)= Σ_k a[i·ars + k·aks] · B[k][j] over k < kc,
/// for an A panel of MR rows in either layout (rows: ars = row stride, aks = 1;
/// interleaved: ars = 1, aks = MR) and B given by a reader (packed_panel, or a
/// source read in place). m ≤ MR and n ≤ NR are the part of the tile inside C. With
/// `add` the tile first takes C's partial sums; then `epi` (the last k block of a
/// product with an epilogue) receives it in registers, or it is stored to c.
///
/// Never inlined: inlined into gemm_block with an in-place reader, g++ 12 kept the
/// accumulators in memory and stored all 24 on every k step (2.4× slower); as its
/// own function the tile lives in registers with every reader (measured the same
/// speed for packed panels).
template <class Arch, class Blocking, class T, class Reader, class Epi>
[[gnu::noinline]] void micro_kernel(std::size_t kc, const T* __restrict a, std::size_t ars,
                                    std::size_t aks, Reader b, T* c, std::size_t ldc, std::size_t m,
                                    std::size_t n, bool add, Epi* epi, std::size_t i0,
                                    std::size_t j0) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t MR = Blocking::MR, NV = Blocking::NV, W = batch::size;
    batch acc[MR][NV];
    gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
        gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) { acc[i][v] = batch(T(0)); });
    });
    auto step = [&]() __attribute__((always_inline)) {
        b.prefetch();
        batch bv[NV];
        gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) { bv[v] = b.load(v); });
        gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
            const batch ai(a[i * ars]);
            gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) {
                acc[i][v] = gemm_fma(ai, bv[v], acc[i][v]);
            });
        });
        a += aks;
        b.next();
    };
    // The tile of C is needed once the kc steps are done. Its lines are fetched a
    // few steps before the end: early enough to hide a miss to L3 (where C of a
    // 1024² product lives), late enough that the B stream, which passes tens of KiB
    // through L1 during one call, has no time to evict them again.
    const std::size_t body = kc > Blocking::prefetch_c ? kc - Blocking::prefetch_c : 0;
    for (std::size_t k = 0; k < body; ++k)
        step();
    if (c)
        gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
            if (i < m)
                gemm_unroll<NV>([&](auto v) __attribute__((always_inline)) {
                    __builtin_prefetch(c + i * ldc + v * W, 1, 3);
                });
        });
    for (std::size_t k = body; k < kc; ++k)
        step();
    b.finish(acc);

    if (add) add_tile<Arch>(acc, c, ldc, m, n);
    if constexpr (!std::is_same_v<Epi, no_epilogue>) {
        if (epi) {
            // A copy crosses the call: were acc's address to escape, the compiler would
            // keep the accumulators in memory through the k loop.
            batch tile[MR][NV];
            gemm_unroll<MR>([&](auto i) __attribute__((always_inline)) {
                gemm_unroll<NV>([&](auto v)
                                    __attribute__((always_inline)) { tile[i][v] = acc[i][v]; });
            });
            epi->fn(epi->self, tile, i0, j0, m, n);
            return;
        }
    }
    store_tile<Arch>(acc, c, ldc, m, n);
}

/// Share `part` of `parts` of the cache lines of a rows×kc panel read in place (row
/// stride ld), fetched ahead (into L1: measured better than into L2 at 1024²): a
/// row-major A larger than L2 comes from L3 or memory, and the first micro-kernel of
/// each panel would otherwise wait on it.
template <class Arch, class T>
void prefetch_panel_share(const T* p, std::size_t ld, std::size_t rows, std::size_t kc,
                          std::size_t part, std::size_t parts) {
    constexpr std::size_t line = cache_line<T>;
    const std::size_t per_row = (kc + line - 1) / line, lines = rows * per_row;
    const std::size_t begin = part * lines / parts, end = (part + 1) * lines / parts;
    std::size_t r = begin / per_row, l = begin % per_row; // one division per call
    for (std::size_t i = begin; i < end; ++i) {
        __builtin_prefetch(p + r * ld + l * line, 0, 3);
        if (++l == per_row) l = 0, ++r;
    }
}

/// A 64-byte aligned buffer that only grows (see the header comment).
template <class Arch, class T>
class gemm_workspace {
public:
    gemm_workspace() = default;
    gemm_workspace(const gemm_workspace&) = delete;
    gemm_workspace& operator=(const gemm_workspace&) = delete;
    ~gemm_workspace() { release(); }

    T* get(std::size_t n) {
        if (n > size_) {
            release();
            data_ = static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
            size_ = n;
        }
        return data_;
    }

private:
    void release() {
        if (data_) ::operator delete (data_, std::align_val_t{64});
        data_ = nullptr;
        size_ = 0;
    }
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

/// The calling thread's workspace, one per (Arch, T).
template <class Arch, class T>
gemm_workspace<Arch, T>& thread_workspace() {
    thread_local gemm_workspace<Arch, T> w;
    return w;
}

/// The block size that splits n into ⌈n / max⌉ near-equal blocks, a multiple of
/// `unit`: no sliver of a last block (K = 300 is 2 × 150, not 256 + 44). Every
/// function here is templated on Arch, this one included, so that no symbol is
/// shared by translation units built for different ISAs (STYLE.md, pitfall 4).
template <class Arch>
constexpr std::size_t balanced_block(std::size_t n, std::size_t max, std::size_t unit) {
    const std::size_t blocks = (n + max - 1) / max;
    const std::size_t even = (n + blocks - 1) / blocks;
    return std::min(max, (even + unit - 1) / unit * unit);
}

/// A B operand stored as a matrix (nn, tn: row-major K×N; nt: the rows of an N×K
/// matrix). Other B sources — a convolution's patches gathered from its input
/// (layers/conv2d.hpp) — provide the same `pack`, so that the product never sees
/// the difference: the operand exists only as packed panels.
template <class T>
struct matrix_b {
    strided<T> m;
    template <class Arch, std::size_t NR>
    void pack(T* dst, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) const {
        pack_b<Arch, NR>(dst, m, pc, jc, kc, nc);
    }
};

/// A B source whose panels the micro-kernel may read in place: besides `pack`, it
/// has `direct<Arch, Blocking>(pc, j0, n)`, which returns a reader of the kc×n panel
/// at (pc, j0) — std::optional, empty where the panel has to be packed.
template <class BSource, class Arch, class Blocking>
concept has_in_place = requires(const BSource& b) {
    b.template direct<Arch, Blocking>(std::size_t{}, std::size_t{}, std::size_t{});
};
template <class BSource, class Arch, class Blocking, class T>
struct in_place_reader {
    using type = packed_panel<Arch, Blocking, T>; // a placeholder: no panel is in place
};
template <class BSource, class Arch, class Blocking, class T>
requires has_in_place<BSource, Arch, Blocking>
struct in_place_reader<BSource, Arch, Blocking, T> {
    using type = typename decltype(std::declval<const BSource&>().template direct<Arch, Blocking>(
        std::size_t{}, std::size_t{}, std::size_t{}))::value_type;
};

/// Half-open index ranges of rows and columns of C.
struct index_range {
    std::size_t begin, end;
};

/// The rows × cols block of C (+)= op(A) · op(B): op(A) M×K given by its strides, op(B)
/// K×N by its source's `pack`, C row-major with leading dimension ldc. Tiles that are
/// final (the last k block) go to `epi` when it is not null (Epi = no_epilogue: never),
/// which then owns them; C then receives only the partial sums of the earlier k
/// blocks, and a product without C (null) runs K as one block so that it has none.
template <class Arch, class Blocking, class T, class BSource, class Epi>
void gemm_block(std::size_t M, std::size_t K, strided<T> a, const BSource& b, T* C, std::size_t ldc,
                bool accumulate, Epi* epi, index_range rows, index_range cols) {
    constexpr std::size_t MR = Blocking::MR, NR = Blocking::NR;
    static_assert(NR % xsimd::batch<T, Arch>::size == 0 && Blocking::NC % NR == 0);
    // Sized for the largest blocks of any product; the A block follows the B block,
    // both 64-byte aligned.
    constexpr std::size_t b_size = Blocking::KC * Blocking::NC;
    constexpr std::size_t a_size = Blocking::MC * Blocking::KC;
    static_assert(b_size * sizeof(T) % 64 == 0 && Blocking::MC % MR == 0);
    const std::size_t n_cols = cols.end - cols.begin, n_rows = rows.end - rows.begin;
    if (n_rows == 0 || n_cols == 0) return;

    // A source read in place has no packed B block to keep in L2, and with Cout
    // rows a convolution's C is as large as its input: partial sums would write z
    // and read it back K / KC − 1 times, so its k blocks are up to 4·KC deep (the A
    // micro-panel, 6 rows of 864 taps for 96 channels of 3×3, still fits L1).
    constexpr std::size_t kc_cap =
        has_in_place<BSource, Arch, Blocking> ? 4 * Blocking::KC : Blocking::KC;
    const std::size_t kc_max = C ? balanced_block<Arch>(K, kc_cap, 1) : K;
    // A whole-K block (no C) keeps the packed blocks within the workspace by
    // narrowing them instead: nc·kc ≤ KC·NC and mc·kc ≤ MC·KC.
    const std::size_t nc_cap = std::max(NR, b_size / kc_max / NR * NR);
    const std::size_t nc_max = balanced_block<Arch>(n_cols, std::min(Blocking::NC, nc_cap), NR);
    const bool a_rows = a.cs == 1; // nn, nt: A is read in place (header comment)
    // ... and its panels are fetched ahead when it cannot stay in L2 (a convolution's
    // filters can: fetching them again only costs issue slots).
    const bool fetch_a = a_rows && M * K * sizeof(T) > Blocking::l2_share;
    // Only a packed A (tn) needs blocks of rows; a row-major A is one block.
    const std::size_t mc_cap = std::max(MR, a_size / kc_max / MR * MR);
    const std::size_t mc_max =
        a_rows ? n_rows : balanced_block<Arch>(n_rows, std::min(Blocking::MC, mc_cap), MR);
    T* const bp = thread_workspace<Arch, T>().get(std::max(b_size, kc_max * NR) +
                                                  std::max(a_size, kc_max * MR));
    T* const ap = bp + std::max(b_size, kc_max * NR);

    for (std::size_t jc = cols.begin; jc < cols.end; jc += nc_max) {
        const std::size_t nc = std::min(nc_max, cols.end - jc), panels = (nc + NR - 1) / NR;
        for (std::size_t pc = 0; pc < K; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, K - pc);
            const bool add = accumulate || pc > 0;
            Epi* const tile_epi = pc + kc >= K ? epi : nullptr;
            // Panels a B source can give the micro-kernel in place are not packed
            // (`direct`, kernels/implicit_conv.hpp); the others are, where they would be.
            using reader = typename in_place_reader<BSource, Arch, Blocking, T>::type;
            std::optional<reader> in_place[Blocking::NC / NR];
            if constexpr (has_in_place<BSource, Arch, Blocking>) {
                for (std::size_t jr = 0; jr < nc; jr += NR) {
                    const std::size_t n = std::min(NR, nc - jr);
                    in_place[jr / NR] = b.template direct<Arch, Blocking>(pc, jc + jr, n);
                    if (!in_place[jr / NR])
                        b.template pack<Arch, NR>(bp + jr * kc, pc, jc + jr, kc, n);
                }
            } else {
                b.template pack<Arch, NR>(bp, pc, jc, kc, nc);
            }
            for (std::size_t ic = rows.begin; ic < rows.end; ic += mc_max) {
                const std::size_t mc = std::min(mc_max, rows.end - ic);
                if (!a_rows) // a.rs == 1
                    pack_columns<Arch, MR>(ap, a.p + ic + pc * a.cs, a.cs, mc, M - ic, kc);
                for (std::size_t ir = ic; ir < ic + mc; ir += MR) {
                    const std::size_t m = std::min(MR, rows.end - ir);
                    const T* panel = a.p + ir * a.rs + pc;
                    std::size_t ars = a.rs, aks = 1;
                    if (!a_rows) {
                        panel = ap + (ir - ic) * kc, ars = 1, aks = MR;
                    } else if (m < MR) {
                        pack_rows<Arch, MR>(ap, panel, a.rs, m, kc);
                        panel = ap, ars = kc;
                    }
                    T* const c_row = C ? C + ir * ldc + jc : nullptr;
                    const std::size_t next_rows =
                        fetch_a && ir + MR < rows.end ? std::min(MR, rows.end - ir - MR) : 0;
                    for (std::size_t jr = 0; jr < nc; jr += NR) {
                        if (next_rows)
                            prefetch_panel_share<Arch>(a.p + (ir + MR) * a.rs + pc, a.rs, next_rows,
                                                       kc, jr / NR, panels);
                        T* const c_tile = c_row ? c_row + jr : nullptr;
                        const std::size_t n = std::min(NR, nc - jr);
                        if constexpr (has_in_place<BSource, Arch, Blocking>) {
                            if (const auto& direct = in_place[jr / NR]) {
                                micro_kernel<Arch, Blocking>(kc, panel, ars, aks, *direct, c_tile,
                                                             ldc, m, n, add, tile_epi, ir, jc + jr);
                                continue;
                            }
                        }
                        micro_kernel<Arch, Blocking>(kc, panel, ars, aks,
                                                     packed_panel<Arch, Blocking, T>{bp + jr * kc},
                                                     c_tile, ldc, m, n, add, tile_epi, ir, jc + jr);
                    }
                }
            }
        }
    }
}

} // namespace detail

/// How a product is shared between the threads (core/thread_pool.hpp): by blocks of
/// columns of C, or by blocks of `unit` rows (a multiple of the tile height, e.g. to
/// give each thread whole channels of an epilogue's output).
enum class gemm_split { columns, rows };

/// C (+)= op(A) · op(B) over the pool's threads, each taking a contiguous block of
/// tiles (static partitioning). Every element of C is the same sum in the same order
/// whatever the thread count — the k blocks do not depend on the partition — so
/// results are bitwise identical from 1 to n threads. Each thread works on its own
/// copy of the epilogue. Products under ~2^20 multiply-adds run on the caller alone:
/// waking the pool costs more than they take.
template <class Arch, class T, class Blocking = detail::gemm_blocking<Arch, T>, class BSource,
          class Epi = detail::no_epilogue>
void gemm(std::size_t M, std::size_t N, std::size_t K, detail::strided<T> a, const BSource& b, T* C,
          std::size_t ldc, bool accumulate, const Epi& epi = {},
          gemm_split split = gemm_split::columns, std::size_t row_unit = Blocking::MR) {
    constexpr std::size_t MR = Blocking::MR, NR = Blocking::NR;
    constexpr bool has_epi = !std::is_same_v<Epi, detail::no_epilogue>;
    if (M == 0 || N == 0) return;
    if (K == 0) { // the product is 0: the epilogue still gets its tiles
        if (!has_epi && !accumulate)
            for (std::size_t i = 0; i < M; ++i)
                for (std::size_t j = 0; j < N; ++j)
                    C[i * ldc + j] = T(0);
        if constexpr (has_epi) {
            using batch = xsimd::batch<T, Arch>;
            Epi e = epi;
            for (std::size_t i = 0; i < M; i += MR)
                for (std::size_t j = 0; j < N; j += NR) {
                    batch acc[MR][Blocking::NV];
                    detail::gemm_unroll<MR>([&](auto r) __attribute__((always_inline)) {
                        detail::gemm_unroll<Blocking::NV>([&](
                            auto v) __attribute__((always_inline)) { acc[r][v] = batch(T(0)); });
                    });
                    const std::size_t m = std::min(MR, M - i), n = std::min(NR, N - j);
                    if (accumulate) detail::add_tile<Arch>(acc, C + i * ldc + j, ldc, m, n);
                    e(acc, i, j, m, n);
                }
        }
        return;
    }
    auto run = [&](detail::index_range rows, detail::index_range cols) {
        if constexpr (has_epi) {
            Epi e = epi;
            auto callback = detail::tile_callback<Arch, T, MR, Blocking::NV>::template of<Epi>(e);
            detail::gemm_block<Arch, Blocking>(M, K, a, b, C, ldc, accumulate, &callback, rows,
                                               cols);
        } else {
            detail::gemm_block<Arch, Blocking>(M, K, a, b, C, ldc, accumulate,
                                               static_cast<detail::no_epilogue*>(nullptr), rows,
                                               cols);
        }
    };
    if (M * N * K < (std::size_t(1) << 20) || num_threads() == 1) {
        run({0, M}, {0, N});
        return;
    }
    if (split == gemm_split::columns) {
        parallel_for((N + NR - 1) / NR, [&](std::size_t p0, std::size_t p1, std::size_t) {
            run({0, M}, {p0 * NR, std::min(N, p1 * NR)});
        });
    } else {
        const std::size_t unit = std::max<std::size_t>(row_unit, 1);
        parallel_for((M + unit - 1) / unit, [&](std::size_t u0, std::size_t u1, std::size_t) {
            run({u0 * unit, std::min(M, u1 * unit)}, {0, N});
        });
    }
}

/// Allocates the packing buffer of every pool thread now instead of at its first
/// product: a model does this when it is instantiated, so that its forward and
/// backward passes allocate nothing.
template <class Arch = xsimd::default_arch, class T>
void reserve_workspace() {
    using B = detail::gemm_blocking<Arch, T>;
    on_each_thread([](std::size_t) {
        detail::thread_workspace<Arch, T>().get(B::KC * B::NC + B::MC * B::KC);
    });
}

template <class Arch = xsimd::default_arch, class T>
void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    gemm<Arch>(M, N, K, detail::strided<T>{A, K, 1}, detail::matrix_b<T>{{B, N, 1}}, C, N,
               accumulate);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    gemm<Arch>(M, N, K, detail::strided<T>{A, K, 1}, detail::matrix_b<T>{{B, 1, K}}, C, N,
               accumulate);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    gemm<Arch>(M, N, K, detail::strided<T>{A, 1, M}, detail::matrix_b<T>{{B, N, 1}}, C, N,
               accumulate);
}

} // namespace maso::kernels
