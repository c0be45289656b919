// maso/kernels/gemm/micro_kernel.hpp — one MR×NR tile of C over a block of k: the
// innermost loop of every product (kernels/gemm.hpp), and the packed panels it reads.
//
// A reader of B (kernels/gemm/concepts.hpp: panel_reader) loads batch v of the current
// row of the panel, steps to the next row, and may reorder the finished tile's
// columns in registers (`finish`); packed_panel reads a packed panel, the
// convolution's readers read the input in place (kernels/conv/patch_rows.hpp).
#pragma once

#include <maso/kernels/gemm/blocking.hpp>
#include <maso/kernels/gemm/register_tile.hpp>
#include <maso/simd/batch_ops.hpp>

#include <cstddef>
#include <type_traits>

namespace maso::kernels::detail {

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
        unroll<lines>([&](auto l) __attribute__((always_inline)) {
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
    unroll<MR>([&](auto i) __attribute__((always_inline)) {
        unroll<NV>([&](auto v) __attribute__((always_inline)) { acc[i][v] = batch(T(0)); });
    });
    auto step = [&]() __attribute__((always_inline)) {
        b.prefetch();
        batch bv[NV];
        unroll<NV>([&](auto v) __attribute__((always_inline)) { bv[v] = b.load(v); });
        unroll<MR>([&](auto i) __attribute__((always_inline)) {
            const batch ai(a[i * ars]);
            unroll<NV>([&](auto v) __attribute__((always_inline)) {
                acc[i][v] = simd::fmadd(ai, bv[v], acc[i][v]);
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
        unroll<MR>([&](auto i) __attribute__((always_inline)) {
            if (i < m)
                unroll<NV>([&](auto v) __attribute__((always_inline)) {
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
            unroll<MR>([&](auto i) __attribute__((always_inline)) {
                unroll<NV>([&](auto v) __attribute__((always_inline)) { tile[i][v] = acc[i][v]; });
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

} // namespace maso::kernels::detail
