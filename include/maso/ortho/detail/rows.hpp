// maso/ortho/detail/rows.hpp — internal to ortho/: vector operations on rows of a row-major
// matrix, the pool scheduling the row algorithms share, and the checks every kernel makes.
//
// Determinism. Every result must be bitwise the same at any thread count (the kernels'
// promise, core/thread_pool.hpp). So a value is never summed across threads: a dot product is
// computed whole by one thread (`parallel_rows`), and an update of a vector is split by
// columns (`parallel_columns`) into blocks whose boundaries are multiples of `column_block`,
// so that each element sees the same sequence of operations — the same SIMD lanes or the same
// scalar tail — whoever computes it.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/simd/batch_ops.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace maso::ortho::detail {

/// Whether Arch's batches compute a·b + c with one rounding (simd::fmadd: the FMA extensions,
/// AVX-512). SSE2 and plain AVX2 round twice, so their scalar tails must too: an element then
/// gets the same arithmetic whether it falls in a batch or in a tail.
template <class Arch>
inline constexpr bool fused_multiply_add =
    std::is_base_of_v<xsimd::avx512f, Arch> || std::is_base_of_v<xsimd::fma3<xsimd::avx2>, Arch> ||
    std::is_base_of_v<xsimd::fma3<xsimd::avx>, Arch> ||
    std::is_base_of_v<xsimd::fma3<xsimd::sse4_2>, Arch>;

/// a·b + c as Arch's batches compute it (see fused_multiply_add).
template <class Arch, class U>
U madd(U a, U b, U c) noexcept {
    if constexpr (fused_multiply_add<Arch>)
        return std::fma(a, b, c);
    else
        return a * b + c;
}

/// Σ a_i b_i, in a fixed order for a given n and Arch: four batch accumulators, then the
/// scalar tail, whatever the addresses.
template <class Arch, class U>
U dot(const U* a, const U* b, std::size_t n) noexcept {
    using batch = xsimd::batch<U, Arch>;
    constexpr std::size_t W = batch::size;
    batch s0(U(0)), s1(U(0)), s2(U(0)), s3(U(0));
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        s0 = simd::fmadd(batch::load_unaligned(a + i), batch::load_unaligned(b + i), s0);
        s1 = simd::fmadd(batch::load_unaligned(a + i + W), batch::load_unaligned(b + i + W), s1);
        s2 = simd::fmadd(batch::load_unaligned(a + i + 2 * W), batch::load_unaligned(b + i + 2 * W),
                         s2);
        s3 = simd::fmadd(batch::load_unaligned(a + i + 3 * W), batch::load_unaligned(b + i + 3 * W),
                         s3);
    }
    for (; i + W <= n; i += W)
        s0 = simd::fmadd(batch::load_unaligned(a + i), batch::load_unaligned(b + i), s0);
    U s = xsimd::hadd((s0 + s1) + (s2 + s3));
    for (; i < n; ++i)
        s = madd<Arch>(a[i], b[i], s);
    return s;
}

/// y += alpha·x over n elements: batches, then a scalar tail (fused if the batches are).
template <class Arch, class U>
void axpy(U alpha, const U* x, U* y, std::size_t n) noexcept {
    using batch = xsimd::batch<U, Arch>;
    constexpr std::size_t W = batch::size;
    const batch a(alpha);
    std::size_t i = 0;
    for (; i + W <= n; i += W)
        simd::fmadd(a, batch::load_unaligned(x + i), batch::load_unaligned(y + i))
            .store_unaligned(y + i);
    for (; i < n; ++i)
        y[i] = madd<Arch>(alpha, x[i], y[i]);
}

/// y *= alpha over n elements (one rounding each, batch or tail alike).
template <class Arch, class U>
void scale(U alpha, U* y, std::size_t n) noexcept {
    using batch = xsimd::batch<U, Arch>;
    constexpr std::size_t W = batch::size;
    const batch a(alpha);
    std::size_t i = 0;
    for (; i + W <= n; i += W)
        (a * batch::load_unaligned(y + i)).store_unaligned(y + i);
    for (; i < n; ++i)
        y[i] *= alpha;
}

/// Below this many multiply-adds (a row step of 30–60 µs from L2) a step runs on the caller.
/// Each parallel step is a hand-off and a barrier: microseconds on an idle machine, up to a
/// time slice when another process holds a core, and Gram–Schmidt takes four or five per row.
inline constexpr std::size_t parallel_work = std::size_t(1) << 17;

/// Columns per block of parallel_columns: a multiple of every batch width (see the top).
inline constexpr std::size_t column_block = 64;

/// f(begin, end) over the rows [0, n), each row handled whole by one thread; on the caller
/// alone when `work` (multiply-adds) is small.
template <class F>
void parallel_rows(std::size_t n, std::size_t work, F&& f) {
    if (n == 0) return;
    if (work < parallel_work || num_threads() == 1) {
        f(std::size_t{0}, n);
        return;
    }
    parallel_for(n, [&](std::size_t b, std::size_t e, std::size_t) { f(b, e); });
}

/// f(begin, end) over the columns [0, cols) in blocks of column_block (the last one shorter);
/// on the caller alone when `work` is small.
template <class F>
void parallel_columns(std::size_t cols, std::size_t work, F&& f) {
    if (cols == 0) return;
    const std::size_t blocks = (cols + column_block - 1) / column_block;
    if (work < parallel_work || num_threads() == 1 || blocks == 1) {
        f(std::size_t{0}, cols);
        return;
    }
    parallel_for(blocks, [&](std::size_t b, std::size_t e, std::size_t) {
        f(b * column_block, std::min(cols, e * column_block));
    });
}

/// "nan", "inf", "-inf" or std::to_string: docs/errors.md's way of printing a value.
inline std::string format_value(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return std::to_string(v);
}

/// numeric_error naming the first non-finite entry of W[rows][cols], if any.
template <class T>
void check_finite_weight(std::span<const T> w, std::size_t cols, std::string_view name) {
    for (std::size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i]))
            throw numeric_error("maso: " + std::string(name) +
                                ": the weight has a non-finite value (" +
                                format_value(static_cast<double>(w[i])) + ") at row " +
                                std::to_string(i / cols) + ", column " + std::to_string(i % cols));
}

/// value_error unless both extents are positive.
inline void check_extents(std::size_t rows, std::size_t cols, std::string_view name) {
    if (rows == 0 || cols == 0)
        throw value_error("maso: " + std::string(name) +
                          ": the weight has a zero extent (K = " + std::to_string(rows) +
                          " rows, D = " + std::to_string(cols) + " columns)");
}

/// value_error unless K ≤ D: the run-time twin of E024 (ortho/check_shape.hpp), for kernels
/// built with run-time sizes.
inline void check_rows_fit(std::size_t rows, std::size_t cols, std::string_view name) {
    check_extents(rows, cols, name);
    if (rows > cols)
        throw value_error("maso: " + std::string(name) + ": K = " + std::to_string(rows) +
                          " rows of length D = " + std::to_string(cols) +
                          " cannot be orthogonal (needs K <= D); use ortho::penalty");
}

/// size_error unless a span has rows·cols elements; `what` names it ("the weight", …).
inline void check_size(std::size_t expected, std::size_t got, std::string_view name,
                       const char* what) {
    if (expected != got)
        throw size_error("maso: " + std::string(name) + ": " + what + " has " +
                         std::to_string(got) + " elements, expected " + std::to_string(expected));
}

/// numeric_error for a row whose part orthogonal to the rows before it is lost in rounding:
/// `relative` is the norm of that part over the row's norm.
[[noreturn]] inline void throw_dependent_row(std::size_t row, double relative,
                                             std::string_view name) {
    throw numeric_error("maso: " + std::string(name) + ": row " + std::to_string(row) +
                        " of the weight is a linear combination of the rows before it to "
                        "working precision (what is left of it is " +
                        format_value(relative) +
                        " of its norm); its rows cannot be orthogonalised");
}

} // namespace maso::ortho::detail
