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
// this is the fused epilogue of run/program.hpp, and with a single op it is also
// the unfused layer's own pass. Padded tail lanes see dy = 0, so every op's
// accumulator contribution must carry a factor dy (simd/fused_loop.hpp).
#pragma once

#include <maso/simd/batch_loop.hpp>

#include <array>
#include <cstddef>
#include <tuple>

namespace maso::kernels {

/// Total accumulators of a chain, and each op's first one.
template <class... Ops>
struct chain_layout {
    static constexpr std::size_t count = sizeof...(Ops);
    static constexpr std::array<std::size_t, count + 1> offset = [] {
        std::array<std::size_t, count + 1> o{};
        std::size_t i = 0;
        ((o[i + 1] = o[i] + Ops::accumulators, ++i), ...);
        return o;
    }();
    static constexpr std::size_t accumulators = offset[count];
};
template <class Tuple>
struct chain_layout_of;
template <class... Ops>
struct chain_layout_of<std::tuple<Ops...>> : chain_layout<Ops...> {};

/// The chain applied to one value or batch.
template <class V, class... Ops>
V chain_value(const std::tuple<Ops...>& ops, V v) {
    std::apply([&](const auto&... op) { ((v = op.forward(v)), ...); }, ops);
    return v;
}

/// ∂L/∂x of the chain at x for upstream g, the intermediate values recomputed in
/// registers; every op's parameter-gradient terms are added to acc at its offset.
template <class V, class... Ops>
V chain_gradient(const std::tuple<Ops...>& ops, V x, V g, V* acc) {
    using layout = chain_layout<Ops...>;
    constexpr std::size_t count = layout::count;
    std::array<V, count> inputs;
    simd::detail::static_for<count>([&](auto i) {
        inputs[i] = x;
        x = std::get<i>(ops).forward(x);
    });
    simd::detail::static_for<count>([&](auto k) {
        constexpr std::size_t i = count - 1 - k;
        g = std::get<i>(ops).backward(inputs[i], g, acc + layout::offset[i]);
    });
    return g;
}

/// Adds the reduced sums (chain_layout's order) to every op's parameter gradients.
template <class T, class... Ops>
void chain_commit(const std::tuple<Ops...>& ops, const T* sums) {
    using layout = chain_layout<Ops...>;
    simd::detail::static_for<layout::count>(
        [&](auto i) { std::get<i>(ops).commit(sums + layout::offset[i]); });
}

template <class Arch, class T, class... Ops>
void chain_forward(Arch arch, const std::tuple<Ops...>& ops, const T* x, T* y, std::size_t n) {
    simd::fused_loop(arch, n, std::array<const T*, 1>{x}, std::array<T*, 1>{y},
                     [&ops](const auto& in, auto&) { return std::array{chain_value(ops, in[0])}; });
}

/// The backward pass without the commit: returns the sums for chain_commit, so that
/// channels run on different threads can commit in a fixed order.
template <class Arch, class T, class... Ops>
auto chain_backward_sums(Arch arch, const std::tuple<Ops...>& ops, const T* x, const T* dy, T* dx,
                         std::size_t n) {
    return simd::fused_loop<chain_layout<Ops...>::accumulators>(
        arch, n, std::array<const T*, 2>{x, dy}, std::array<T*, 1>{dx},
        [&ops](const auto& in, auto& acc) {
            return std::array{chain_gradient(ops, in[0], in[1], acc.data())};
        });
}

template <class Arch, class T, class... Ops>
void chain_backward(Arch arch, const std::tuple<Ops...>& ops, const T* x, const T* dy, T* dx,
                    std::size_t n) {
    const auto sums = chain_backward_sums(arch, ops, x, dy, dx, n);
    chain_commit(ops, sums.data());
}

} // namespace maso::kernels
