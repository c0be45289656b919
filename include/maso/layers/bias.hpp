// maso/layers/bias.hpp — the bias of an affine map as a pointwise op.
//
// Under fusion the bias is the first op of the epilogue chain that follows a
// GEMM (run/program.hpp); unfused, dense and conv2d apply it with the same op.
#pragma once

#include <maso/simd/ops.hpp>

#include <cstddef>

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

} // namespace maso
