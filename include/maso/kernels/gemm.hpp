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
// product (KC·NC + MC·KC elements: 608 KiB for float, 704 KiB for double with the
// default MASO_L2_BYTES, kernels/gemm/blocking.hpp) and never
// again, so that a network's forward and backward passes allocate nothing after
// the first call whatever their shapes. Only the pages a product touches are
// written. A product must not start another one on the same thread while it runs
// (an epilogue must not run a product).
//
// Epilogues. A tile of C is final at the end of the micro-kernel of the last k
// block, while it is still in registers: `gemm(…, epi)` hands each such tile — the
// MR×NV batches, its origin (i0, j0) and the part inside C (m, n) — to
// `epi(acc, i0, j0, m, n)`, which then owns it (stores it, or applies bias, units
// and pooling first and stores something else: run/program.hpp). Earlier k blocks
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
#include <maso/kernels/gemm/blocking.hpp>
#include <maso/kernels/gemm/concepts.hpp>
#include <maso/kernels/gemm/micro_kernel.hpp>
#include <maso/kernels/gemm/packing.hpp>
#include <maso/kernels/gemm/register_tile.hpp>
#include <maso/kernels/gemm/workspace.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace maso::kernels {

namespace detail {

/// Half-open index ranges of rows and columns of C.
struct index_range {
    std::size_t begin, end;
};

/// The rows × cols block of C (+)= op(A) · op(B) over k in `depth`: op(A) M×K given by
/// its strides, op(B) K×N by its source's `pack`, C row-major with leading dimension ldc.
/// Tiles that are final (the last k block) go to `epi` when it is not null (Epi =
/// no_epilogue: never), which then owns them; C then receives only the partial sums of
/// the earlier k blocks, and a product without C (null) runs its depth as one block so
/// that it has none.
template <class Arch, class Blocking, class T, class BSource, class Epi>
void gemm_block(std::size_t M, index_range depth, strided<T> a, const BSource& b, T* C,
                std::size_t ldc, bool accumulate, Epi* epi, index_range rows, index_range cols) {
    constexpr std::size_t MR = Blocking::MR, NR = Blocking::NR;
    static_assert(NR % xsimd::batch<T, Arch>::size == 0 && Blocking::NC % NR == 0);
    // Sized for the largest blocks of any product; the A block follows the B block,
    // both 64-byte aligned.
    constexpr std::size_t b_size = Blocking::KC * Blocking::NC;
    constexpr std::size_t a_size = Blocking::MC * Blocking::KC;
    static_assert(b_size * sizeof(T) % 64 == 0 && Blocking::MC % MR == 0);
    const std::size_t n_cols = cols.end - cols.begin, n_rows = rows.end - rows.begin;
    const std::size_t K = depth.end - depth.begin;
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
        for (std::size_t pc = depth.begin; pc < depth.end; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, depth.end - pc);
            const bool add = accumulate || pc > depth.begin;
            Epi* const tile_epi = pc + kc >= depth.end ? epi : nullptr;
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

/// Whether an M×N×K product runs on the caller alone: under ~2^20 multiply-adds, waking
/// the pool costs more than the product takes. Templated on Arch, as everything here
/// (kernels/gemm/blocking.hpp: balanced_block).
template <class Arch>
bool on_caller_alone(std::size_t M, std::size_t N, std::size_t K) {
    return M * N * K < (std::size_t(1) << 20) || num_threads() == 1;
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
template <class Arch, class T, class Blocking = gemm_blocking<Arch, T>, class BSource,
          class Epi = no_epilogue>
void gemm(std::size_t M, std::size_t N, std::size_t K, strided<T> a, const BSource& b, T* C,
          std::size_t ldc, bool accumulate, const Epi& epi = {},
          gemm_split split = gemm_split::columns, std::size_t row_unit = Blocking::MR) {
    constexpr std::size_t MR = Blocking::MR, NR = Blocking::NR;
    constexpr bool has_epi = !std::is_same_v<Epi, no_epilogue>;
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
                    unroll<MR>([&](auto r) __attribute__((always_inline)) {
                        unroll<Blocking::NV>([&](auto v) __attribute__((always_inline)) {
                            acc[r][v] = batch(T(0));
                        });
                    });
                    const std::size_t m = std::min(MR, M - i), n = std::min(NR, N - j);
                    if (accumulate) add_tile<Arch>(acc, C + i * ldc + j, ldc, m, n);
                    e(acc, i, j, m, n);
                }
        }
        return;
    }
    auto run = [&](detail::index_range rows, detail::index_range cols) {
        if constexpr (has_epi) {
            Epi e = epi;
            auto callback = tile_callback<Arch, T, MR, Blocking::NV>::template of<Epi>(e);
            detail::gemm_block<Arch, Blocking>(M, {0, K}, a, b, C, ldc, accumulate, &callback, rows,
                                               cols);
        } else {
            detail::gemm_block<Arch, Blocking>(M, {0, K}, a, b, C, ldc, accumulate,
                                               static_cast<no_epilogue*>(nullptr), rows, cols);
        }
    };
    if (detail::on_caller_alone<Arch>(M, N, K)) {
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

template <class Arch = xsimd::default_arch, class T>
void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    gemm<Arch>(M, N, K, strided<T>{A, K, 1}, matrix_b<T>{{B, N, 1}}, C, N, accumulate);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    gemm<Arch>(M, N, K, strided<T>{A, K, 1}, matrix_b<T>{{B, 1, K}}, C, N, accumulate);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    gemm<Arch>(M, N, K, strided<T>{A, 1, M}, matrix_b<T>{{B, N, 1}}, C, N, accumulate);
}

} // namespace maso::kernels
