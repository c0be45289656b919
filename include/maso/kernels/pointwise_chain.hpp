// maso/kernels/pointwise_chain.hpp — a chain of per-channel pointwise ops in one pass.
//
// A pointwise op is the per-channel closed form of an elementwise node (a bias,
// a β-VQ unit, a batch-norm apply, a soft output):
//
//   struct op {
//       static constexpr std::size_t accumulators;          // parameter-gradient sums it keeps
//       template <class V> V forward(V x) const;
//       template <class V> V backward(V x, V dy, V* acc) const;  // returns dx, adds to acc[0..)
//       void commit(const T* sums) const;                    // adds the reduced sums to its grads
//   };
//
// chain_forward applies ops in order; chain_backward recomputes the chain's
// intermediate values in registers from the chain's input (nothing but the input
// is saved) and runs the ops' backward in reverse, reducing every op's parameter
// gradients in the same pass. One read of x (and dy), one write of y (or dx):
// this is the fused epilogue of plan/lower.hpp, and with a single op it is also
// the unfused layer's own pass. Padded tail lanes see dy = 0, so every op's
// accumulator contribution must carry a factor dy (simd/fused_loop.hpp).
#pragma once

#include <maso/simd/batch_loop.hpp>

#include <array>
#include <cstddef>
#include <tuple>

namespace maso::kernels {

template <class Arch, class T, class... Ops>
void chain_forward(Arch arch, const std::tuple<Ops...>& ops, const T* x, T* y, std::size_t n) {
    simd::fused_loop(arch, n, std::array<const T*, 1>{x}, std::array<T*, 1>{y},
                     [&ops](const auto& in, auto&) {
                         auto v = in[0];
                         std::apply([&](const auto&... op) { ((v = op.forward(v)), ...); }, ops);
                         return std::array{v};
                     });
}

template <class Arch, class T, class... Ops>
void chain_backward(Arch arch, const std::tuple<Ops...>& ops, const T* x, const T* dy, T* dx,
                    std::size_t n) {
    constexpr std::size_t count = sizeof...(Ops);
    static constexpr std::array<std::size_t, count + 1> offset = [] {
        std::array<std::size_t, count + 1> o{};
        std::size_t i = 0;
        ((o[i + 1] = o[i] + Ops::accumulators, ++i), ...);
        return o;
    }();
    const auto sums = simd::fused_loop<offset[count]>(
        arch, n, std::array<const T*, 2>{x, dy}, std::array<T*, 1>{dx},
        [&ops](const auto& in, auto& acc) {
            using V = std::decay_t<decltype(in[0])>;
            std::array<V, count> inputs;
            V v = in[0];
            simd::detail::static_for<count>([&](auto i) {
                inputs[i] = v;
                v = std::get<i>(ops).forward(v);
            });
            V g = in[1];
            simd::detail::static_for<count>([&](auto k) {
                constexpr std::size_t i = count - 1 - k;
                g = std::get<i>(ops).backward(inputs[i], g, acc.data() + offset[i]);
            });
            return std::array{g};
        });
    simd::detail::static_for<count>(
        [&](auto i) { std::get<i>(ops).commit(sums.data() + offset[i]); });
}

} // namespace maso::kernels
