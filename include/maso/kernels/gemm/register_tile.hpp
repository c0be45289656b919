// maso/kernels/gemm/register_tile.hpp — the MR×NV batches of C a micro-kernel holds in
// registers: unrolled loops over them, their way to and from memory, and what a
// product hands a finished tile to (an epilogue).
//
// An epilogue is any callable epi(acc, i0, j0, m, n) taking the tile's batches
// acc[MR][NV], its origin in C and the part inside C (kernels/gemm/concepts.hpp:
// tile_epilogue); the GEMM sees it through a tile_callback.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <cstddef>
#include <utility>

namespace maso::kernels {

/// f(integral_constant<0>), …, f(integral_constant<N−1>): unrolled in the source, so
/// that the accumulators are indexed by constants and live in registers. Every f here
/// is marked always_inline too: with an epilogue the micro-kernel grows past g++'s
/// inlining budget, and its tile loads and stores became calls, one per row (perf,
/// the MLP: 7% of the forward, against 4% unfused).
template <class F, std::size_t... I>
[[gnu::always_inline]] inline void unroll(F&& f, std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
}
template <std::size_t N, class F>
[[gnu::always_inline]] inline void unroll(F&& f) {
    unroll(f, std::make_index_sequence<N>{});
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
    unroll<MR>([&](auto i) __attribute__((always_inline)) {
        unroll<NV>([&](auto v) __attribute__((always_inline)) {
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
        unroll<MR>([&](auto i) __attribute__((always_inline)) {
            unroll<NV>([&](auto v) __attribute__((always_inline)) {
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
    unroll<MR>([&](auto i) __attribute__((always_inline)) {
        unroll<NV>([&](auto v) __attribute__((always_inline)) {
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
        unroll<MR>([&](auto i) __attribute__((always_inline)) {
            unroll<NV>([&](auto v) __attribute__((always_inline)) {
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

} // namespace maso::kernels
