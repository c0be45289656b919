// maso/kernels/gemm/blocking.hpp — how a product is cut into blocks and register tiles.
//
// The one tunable is MASO_L2_BYTES, the L2 cache of one core (default 1 MiB: Zen 4 and
// Zen 5 have 1 MiB, Sapphire Rapids 2 MiB). Define it before including maso, or pass
// -DMASO_L2_BYTES=…, to size the packed B block (half of it) for another machine; the
// results do not depend on it, only the speed. docs/performance.md lists the tunables.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <algorithm>
#include <cstddef>
#include <type_traits>

#ifndef MASO_L2_BYTES
#define MASO_L2_BYTES (1024 * 1024)
#endif

namespace maso::kernels {

/// Values of T in a 64-byte cache line: the unit of the prefetches.
template <class T>
inline constexpr std::size_t cache_line = 64 / sizeof(T);

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
/// (MASO_L2_BYTES; with 1 MiB, 512 KiB: NC = 512 floats or 256 doubles). KC×NC = 512×256 and
/// 384×384 measured the same or worse, and so did BLIS's order of the two inner loops (the B
/// micro-panel in L1, A streamed): the B micro-panel then has to fit L1, which
/// leaves KC ≤ 64.
template <class Arch, class T>
struct gemm_blocking {
    static constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    static constexpr std::size_t MR = 6;
    static constexpr std::size_t NV = std::is_base_of_v<xsimd::avx512f, Arch> ? 4 : 2;
    static constexpr std::size_t NR = NV * W;
    static constexpr std::size_t KC = 256;
    static constexpr std::size_t NC = MASO_L2_BYTES / 2 / (KC * sizeof(T)) / NR * NR;
    /// Rows of a packed A block (tn only): 96×256 floats, 96 KiB of L2.
    static constexpr std::size_t MC = 16 * MR;
    /// k steps of B to prefetch ahead in the micro-kernel (measured: 2 to 8 alike).
    static constexpr std::size_t prefetch_b = 2;
    /// k steps before the end of the micro-kernel at which C's tile is fetched.
    static constexpr std::size_t prefetch_c = 32;
    /// Bytes of an operand read in place beyond which it is taken to live outside L2
    /// (the packed B block holds the other half).
    static constexpr std::size_t l2_share = MASO_L2_BYTES / 2;
};

namespace detail {
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
} // namespace detail

} // namespace maso::kernels
