// maso/kernels/gemm_depth.hpp — C (+)= op(A) · op(B) for a deep, narrow product, shared
// between the threads along K as well as N: a convolution's weight gradient dW = dZ · colsᵀ
// (M = Cout, N = Cin·K², K = batch · pixels).
//
// Split by columns alone (gemm), such a product has few tiles to share: 96 × 864 is 27
// panels of NR = 32 floats, 14 and 13 for two threads, and a 3-channel input's 27 columns
// are one panel, which one thread takes whole. Here K is also cut into `slices` runs of
// whole KC blocks, a number fixed by the shape alone, never by the thread count:
//
//   C  (+)= op(A)[:, slice 0] · op(B)[slice 0, :]       as gemm would, accumulating or not
//   Ps  =   op(A)[:, slice s] · op(B)[slice s, :]       s ≥ 1, each into its own M×N block
//   C  +=   P1, then P2, …                               in slice order
//
// The threads take contiguous runs of the (slice, panel) pairs. Every element of C is the
// same sum in the same order at any thread count, so results are bitwise identical from 1
// to n threads, as gemm's (though not equal to gemm's, which sums K in one run). The caller
// gives the memory of the partial sums (depth_split::partials elements), so that a
// network's backward pass allocates nothing.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm.hpp>

#include <algorithm>
#include <cstddef>

namespace maso::kernels {

/// How gemm_depth cuts K for an M×N product (see the header comment).
template <class Arch, class T, class Blocking = gemm_blocking<Arch, T>>
struct depth_split {
    /// At most this many slices: enough pairs for 8 threads when N is one panel.
    static constexpr std::size_t max_slices = 8;
    /// Slices are added until the (slice, panel) pairs number at least this many, so that
    /// a few threads share them to within a few percent.
    static constexpr std::size_t min_pairs = 64;

    /// The slices a product with N columns takes when K has that many KC blocks.
    static constexpr std::size_t wanted(std::size_t N) {
        const std::size_t panels = std::max<std::size_t>((N + Blocking::NR - 1) / Blocking::NR, 1);
        return std::clamp<std::size_t>((min_pairs + panels - 1) / panels, 1, max_slices);
    }
    /// The slices of an N×K product: wanted(N), but no more than K's KC blocks.
    static constexpr std::size_t slices(std::size_t N, std::size_t K) {
        const std::size_t blocks = (K + Blocking::KC - 1) / Blocking::KC;
        return std::clamp<std::size_t>(blocks, 1, wanted(N));
    }
    /// k range of slice s of `n` slices: whole KC blocks, shared as evenly as they go.
    static constexpr detail::index_range slice(std::size_t s, std::size_t n, std::size_t K) {
        const std::size_t blocks = (K + Blocking::KC - 1) / Blocking::KC;
        const ::maso::detail::index_range b = ::maso::detail::static_range(blocks, n, s);
        return {b.begin * Blocking::KC, std::min(K, b.end * Blocking::KC)};
    }
    /// Elements of partial sums an M×N product needs, whatever its K.
    static constexpr std::size_t partials(std::size_t M, std::size_t N) {
        return (wanted(N) - 1) * M * N;
    }
};

/// C (+)= op(A) · op(B) with K cut into depth_split's slices (header comment); `partials`
/// holds depth_split<Arch, T>::partials(M, N) elements (may be null when that is 0). A
/// and B as for gemm; no epilogue, as C is final only once the partials are added.
template <class Arch, class T, class Blocking = gemm_blocking<Arch, T>, class BSource>
void gemm_depth(std::size_t M, std::size_t N, std::size_t K, strided<T> a, const BSource& b, T* C,
                std::size_t ldc, bool accumulate, T* partials) {
    using split = depth_split<Arch, T, Blocking>;
    constexpr std::size_t NR = Blocking::NR;
    if (M == 0 || N == 0) return;
    const std::size_t slices = split::slices(N, K);
    if (slices == 1 || K == 0) {
        gemm<Arch, T, Blocking>(M, N, K, a, b, C, ldc, accumulate);
        return;
    }
    if (partials == nullptr)
        throw error("maso: gemm_depth needs " + std::to_string(split::partials(M, N)) +
                    " elements of partial sums for a " + std::to_string(M) + "×" +
                    std::to_string(N) + " product, and was given none");
    const std::size_t panels = (N + NR - 1) / NR;
    // Pairs [p0, p1) of (slice, panel), slice-major: each thread packs only its own k
    // ranges and columns of B.
    auto run = [&](std::size_t p0, std::size_t p1) {
        for (std::size_t s = p0 / panels; s * panels < p1; ++s) {
            const std::size_t first = std::max(p0, s * panels) - s * panels;
            const std::size_t last = std::min(p1, (s + 1) * panels) - s * panels;
            T* const c = s == 0 ? C : partials + (s - 1) * M * N;
            detail::gemm_block<Arch, Blocking>(
                M, split::slice(s, slices, K), a, b, c, s == 0 ? ldc : N, s == 0 && accumulate,
                static_cast<no_epilogue*>(nullptr), {0, M}, {first * NR, std::min(N, last * NR)});
        }
    };
    auto add_partials = [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i)
            for (std::size_t s = 1; s < slices; ++s) {
                const T* const p = partials + (s - 1) * M * N + i * N;
                T* const c = C + i * ldc;
                for (std::size_t j = 0; j < N; ++j)
                    c[j] += p[j];
            }
    };
    if (detail::on_caller_alone<Arch>(M, N, K)) {
        run(0, slices * panels);
        add_partials(0, M);
        return;
    }
    parallel_for(slices * panels,
                 [&](std::size_t p0, std::size_t p1, std::size_t) { run(p0, p1); });
    parallel_for(M, [&](std::size_t i0, std::size_t i1, std::size_t) { add_partials(i0, i1); });
}

} // namespace maso::kernels
