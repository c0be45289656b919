// maso/kernels/gemm.hpp — plain vectorised matrix products (row-major).
//
//   gemm_nn: C (+)= A · B      A: M×K, B: K×N     forward of dense and conv
//   gemm_nt: C (+)= A · Bᵀ     A: M×K, B: N×K     weight gradients dW = dZ · Xᵀ
//   gemm_tn: C (+)= Aᵀ · B     A: K×M, B: K×N     input gradients dX = Wᵀ · dZ
//
// Straight loops with the innermost one over contiguous memory in xsimd
// batches; no packing or register blocking yet (the packed micro-kernel is a
// later piece of work). `accumulate` adds to C instead of overwriting it.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <cstddef>

namespace maso::kernels {

namespace detail {
/// y[0..n) += a · x[0..n)
template <class Arch, class T>
inline void axpy(std::size_t n, T a, const T* x, T* y) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size;
    const batch av(a);
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        xsimd::fma(av, batch::load_unaligned(x + j), batch::load_unaligned(y + j))
            .store_unaligned(y + j);
    for (; j < n; ++j) y[j] += a * x[j];
}

/// Σ x[i] y[i]
template <class Arch, class T>
inline T dot(std::size_t n, const T* x, const T* y) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size;
    batch acc(T(0));
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        acc = xsimd::fma(batch::load_unaligned(x + j), batch::load_unaligned(y + j), acc);
    T s = xsimd::hadd(acc);
    for (; j < n; ++j) s += x[j] * y[j];
    return s;
}
} // namespace detail

template <class Arch = xsimd::default_arch, class T>
void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    for (std::size_t i = 0; i < M; ++i) {
        T* c = C + i * N;
        if (!accumulate)
            for (std::size_t j = 0; j < N; ++j) c[j] = T(0);
        for (std::size_t k = 0; k < K; ++k) detail::axpy<Arch>(N, A[i * K + k], B + k * N, c);
    }
}

template <class Arch = xsimd::default_arch, class T>
void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            const T s = detail::dot<Arch>(K, A + i * K, B + j * K);
            C[i * N + j] = accumulate ? C[i * N + j] + s : s;
        }
}

template <class Arch = xsimd::default_arch, class T>
void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C,
             bool accumulate) {
    if (!accumulate)
        for (std::size_t i = 0; i < M * N; ++i) C[i] = T(0);
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t i = 0; i < M; ++i) detail::axpy<Arch>(N, A[k * M + i], B + k * N, C + i * N);
}

} // namespace maso::kernels
