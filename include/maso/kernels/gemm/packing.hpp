// maso/kernels/gemm/packing.hpp — operands of a product and their packing into the
// aligned panels the micro-kernel reads.
//
// A is given by strides (strided); B by a source that packs a block of it
// (matrix_b for a stored matrix; kernels/conv/ for a convolution's patches, which
// exist only as packed panels). See kernels/gemm.hpp for the block structure.
#pragma once

#include <maso/kernels/gemm/blocking.hpp>
#include <maso/kernels/gemm/register_tile.hpp>
#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <cstddef>

namespace maso::kernels {

/// A read-only matrix view: element (r, c) is p[r·rs + c·cs]. Every operand here
/// has rs == 1 or cs == 1.
template <class T>
struct strided {
    const T* p;
    std::size_t rs, cs;
};

namespace detail {

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
                unroll<P / W>([&](auto v) __attribute__((always_inline)) {
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
                unroll<V>([&](auto v) __attribute__((always_inline)) {
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
                unroll<NR / W>([&](auto v) __attribute__((always_inline)) {
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

} // namespace detail

/// A B operand stored as a matrix (nn, tn: row-major K×N; nt: the rows of an N×K
/// matrix). Other B sources — a convolution's patches gathered from its input
/// (layers/conv2d.hpp) — provide the same `pack`, so that the product never sees
/// the difference: the operand exists only as packed panels.
template <class T>
struct matrix_b {
    strided<T> m;
    template <class Arch, std::size_t NR>
    void pack(T* dst, std::size_t pc, std::size_t jc, std::size_t kc, std::size_t nc) const {
        detail::pack_b<Arch, NR>(dst, m, pc, jc, kc, nc);
    }
};

} // namespace maso::kernels
