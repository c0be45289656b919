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
// Workspace: the packed blocks live in one thread_local buffer per (Arch, T),
// allocated by the first product on each thread for the largest blocks of any
// product (KC·NC + MC·KC elements: 608 KiB for float, 704 KiB for double) and never
// again, so that a network's forward and backward passes allocate nothing after
// the first call whatever their shapes. Only the pages a product touches are
// written. A product must not start another one on the same thread while it runs
// (nothing does: there are no callbacks yet).
//
// Epilogue hook (design note, not wired in). The place to fuse bias, batch-norm
// apply, the β-VQ unit chain or pooling is where a tile is final: at the end of the
// micro-kernel of the last pc block, C[i0..i0+MR, j0..j0+NR] is in registers. A
// later `gemm_nn(…, Epilogue e)` would hand each such tile — the MR×NV batches,
// its origin (i0, j0) and the valid extent (m, n) — to `e(tile, i0, j0, m, n)`
// before the store, with the identity as the default; earlier pc blocks keep
// storing raw partial sums (or KC is raised to K when the epilogue cannot wait).
// Per-row epilogues (bias, batch norm, the unit chain, per channel in maso's
// [channel][pixel] layout) need only i0; pooling windows need whole windows in a
// tile, which constrains NR against the map width and is why the hook gets the
// origin rather than a pointer alone. Backward epilogues (the unit's derivative
// applied to dY) belong in the packing of B instead, where each element passes once.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <cstddef>
#include <new>
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
/// that the accumulators are indexed by constants and live in registers.
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
                gemm_unroll<P / W>(
                    [&](auto v) { batch::load_unaligned(src + v * W).store_aligned(dst + v * W); });
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
                gemm_unroll<V>([&](auto v) {
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
        // source, which the hardware prefetcher follows best.
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size;
        static_assert(NR % W == 0);
        for (std::size_t k = 0; k < kc; ++k) {
            const T* src = b.p + (pc + k) * b.rs + jc;
            T* d = dst + k * NR;
            for (std::size_t jr = 0; jr < full; jr += NR, d += NR * kc)
                gemm_unroll<NR / W>([&](auto v) {
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

/// C[0..m, 0..n] (+)= Σ_k a[i·ars + k·aks] · b[k·NR + j] over k < kc, for an A panel
/// of MR rows in either layout (rows: ars = row stride, aks = 1; interleaved:
/// ars = 1, aks = MR) and a packed, aligned B panel. m ≤ MR and n ≤ NR are the part
/// of the tile inside C.
template <class Arch, class Blocking, class T>
void micro_kernel(std::size_t kc, const T* __restrict a, std::size_t ars, std::size_t aks,
                  const T* __restrict b, T* c, std::size_t ldc, std::size_t m, std::size_t n,
                  bool accumulate) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t MR = Blocking::MR, NV = Blocking::NV, W = batch::size, NR = NV * W;
    constexpr std::size_t line = 64 / sizeof(T), b_lines = (NR + line - 1) / line;
    batch acc[MR][NV];
    gemm_unroll<MR>([&](auto i) { gemm_unroll<NV>([&](auto v) { acc[i][v] = batch(T(0)); }); });
    auto step = [&]() __attribute__((always_inline)) {
        gemm_unroll<b_lines>(
            [&](auto l) { __builtin_prefetch(b + Blocking::prefetch_b * NR + l * line, 0, 3); });
        batch bv[NV];
        gemm_unroll<NV>([&](auto v) { bv[v] = batch::load_aligned(b + v * W); });
        gemm_unroll<MR>([&](auto i) {
            const batch ai(a[i * ars]);
            gemm_unroll<NV>([&](auto v) { acc[i][v] = gemm_fma(ai, bv[v], acc[i][v]); });
        });
        a += aks;
        b += NR;
    };
    // The tile of C is needed once the kc steps are done. Its lines are fetched a
    // few steps before the end: early enough to hide a miss to L3 (where C of a
    // 1024² product lives), late enough that the B stream, which passes tens of KiB
    // through L1 during one call, has no time to evict them again.
    const std::size_t body = kc > Blocking::prefetch_c ? kc - Blocking::prefetch_c : 0;
    for (std::size_t k = 0; k < body; ++k)
        step();
    gemm_unroll<MR>([&](auto i) {
        if (i < m) gemm_unroll<NV>([&](auto v) { __builtin_prefetch(c + i * ldc + v * W, 1, 3); });
    });
    for (std::size_t k = body; k < kc; ++k)
        step();

    if (m == MR && n == NR) {
        gemm_unroll<MR>([&](auto i) {
            gemm_unroll<NV>([&](auto v) {
                T* p = c + i * ldc + v * W;
                (accumulate ? acc[i][v] + batch::load_unaligned(p) : acc[i][v]).store_unaligned(p);
            });
        });
        return;
    }
    alignas(64) T tile[MR * NR];
    gemm_unroll<MR>([&](auto i) {
        gemm_unroll<NV>([&](auto v) { acc[i][v].store_aligned(tile + i * NR + v * W); });
    });
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
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

/// C (+)= op(A) · op(B), op(A) M×K and op(B) K×N given by their strides; C is M×N
/// row-major and dense.
template <class Arch, class T, class Blocking = gemm_blocking<Arch, T>>
void gemm(std::size_t M, std::size_t N, std::size_t K, strided<T> a, strided<T> b, T* C,
          bool accumulate) {
    constexpr std::size_t MR = Blocking::MR, NR = Blocking::NR;
    static_assert(NR % xsimd::batch<T, Arch>::size == 0 && Blocking::NC % NR == 0);
    if (M == 0 || N == 0) return;
    if (K == 0) {
        if (!accumulate)
            for (std::size_t e = 0; e < M * N; ++e)
                C[e] = T(0);
        return;
    }
    const std::size_t kc_max = balanced_block<Arch>(K, Blocking::KC, 1);
    const std::size_t nc_max = balanced_block<Arch>(N, Blocking::NC, NR);
    const bool a_rows = a.cs == 1; // nn, nt: A is read in place (header comment)
    // Only a packed A (tn) needs blocks of rows; a row-major A is one block.
    const std::size_t mc_max = a_rows ? M : balanced_block<Arch>(M, Blocking::MC, MR);
    // Sized for the largest blocks of any product; the A block follows the B block,
    // both 64-byte aligned.
    constexpr std::size_t b_size = Blocking::KC * Blocking::NC;
    constexpr std::size_t a_size = Blocking::MC * Blocking::KC;
    static_assert(b_size * sizeof(T) % 64 == 0 && Blocking::MC % MR == 0);
    T* const bp = thread_workspace<Arch, T>().get(b_size + a_size);
    T* const ap = bp + b_size;

    for (std::size_t jc = 0; jc < N; jc += nc_max) {
        const std::size_t nc = std::min(nc_max, N - jc);
        for (std::size_t pc = 0; pc < K; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, K - pc);
            const bool add = accumulate || pc > 0;
            pack_b<Arch, NR>(bp, b, pc, jc, kc, nc);
            for (std::size_t ic = 0; ic < M; ic += mc_max) {
                const std::size_t mc = std::min(mc_max, M - ic);
                if (!a_rows) // a.rs == 1
                    pack_columns<Arch, MR>(ap, a.p + ic + pc * a.cs, a.cs, mc, M - ic, kc);
                for (std::size_t ir = ic; ir < ic + mc; ir += MR) {
                    const std::size_t m = std::min(MR, M - ir);
                    const T* panel = a.p + ir * a.rs + pc;
                    std::size_t ars = a.rs, aks = 1;
                    if (!a_rows) {
                        panel = ap + (ir - ic) * kc, ars = 1, aks = MR;
                    } else if (m < MR) {
                        pack_rows<Arch, MR>(ap, panel, a.rs, m, kc);
                        panel = ap, ars = kc;
                    }
                    T* const c_row = C + ir * N + jc;
                    for (std::size_t jr = 0; jr < nc; jr += NR)
                        micro_kernel<Arch, Blocking>(kc, panel, ars, aks, bp + jr * kc, c_row + jr,
                                                     N, m, std::min(NR, nc - jr), add);
                }
            }
        }
    }
}

} // namespace detail

/// Allocates the calling thread's packing buffer now instead of at its first
/// product: a model does this when it is instantiated, so that its forward and
/// backward passes allocate nothing (on the thread that built it).
template <class Arch = xsimd::default_arch, class T>
void reserve_workspace() {
    using B = detail::gemm_blocking<Arch, T>;
    detail::thread_workspace<Arch, T>().get(B::KC * B::NC + B::MC * B::KC);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    detail::gemm<Arch>(M, N, K, detail::strided<T>{A, K, 1}, detail::strided<T>{B, N, 1}, C,
                       accumulate);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    detail::gemm<Arch>(M, N, K, detail::strided<T>{A, K, 1}, detail::strided<T>{B, 1, K}, C,
                       accumulate);
}

template <class Arch = xsimd::default_arch, class T>
void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    detail::gemm<Arch>(M, N, K, detail::strided<T>{A, 1, M}, detail::strided<T>{B, N, 1}, C,
                       accumulate);
}

} // namespace maso::kernels
