// maso/layers/bias.hpp — the bias of an affine map as a pointwise op, and its passes.
//
// Under fusion the bias is the first op of the epilogue chain that follows a
// GEMM (plan/lower.hpp); unfused, dense and conv2d apply it with the same op,
// in one pass per channel over its values (add_bias), and reduce its gradient
// the same way (add_bias_gradient), the channels split among the pool's threads.
// Each channel's sum is one thread's, in a fixed order, and lands in that
// channel's own gradient: the result does not depend on the thread count.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/simd/batch_loop.hpp>
#include <maso/simd/ops.hpp>

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>

namespace maso {

template <class T>
struct bias_op {
    static constexpr std::size_t accumulators = 1;
    T b;
    T* grad; ///< ∂L/∂b of this channel (accumulated)

    template <class V>
    V forward(V x) const {
        return x + simd::ops<V>::broadcast(b);
    }
    template <class V>
    V backward(V, V dy, V* acc) const {
        acc[0] += dy;
        return dy;
    }
    void commit(const T* sums) const { *grad += sums[0]; }
};

namespace detail {

/// y[c·ld + i] += b[c] for i < n, c < channels: one vectorised pass per channel.
template <class T>
void add_bias(const T* b, T* y, std::size_t channels, std::size_t n, std::size_t ld) {
    parallel_for(channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c)
            kernels::chain_forward(xsimd::default_arch{}, std::tuple{bias_op<T>{b[c], nullptr}},
                                   y + c * ld, y + c * ld, n);
    });
}

/// db[c] += Σ_{i < n} dy[c·ld + i] for c < channels: one vectorised sum per channel.
template <class T>
void add_bias_gradient(const T* dy, T* db, std::size_t channels, std::size_t n, std::size_t ld) {
    parallel_for(channels, [&](std::size_t c0, std::size_t c1, std::size_t) {
        for (std::size_t c = c0; c < c1; ++c)
            db[c] +=
                simd::fused_loop<1>(xsimd::default_arch{}, n, std::array<const T*, 1>{dy + c * ld},
                                    std::array<T*, 0>{}, [](const auto& v, auto& acc) {
                                        acc[0] += v[0];
                                        return std::array<std::decay_t<decltype(v[0])>, 0>{};
                                    })[0];
    });
}

} // namespace detail

} // namespace maso
