// maso/simd/batch_loop.hpp — fused_loop for xsimd archs (see simd/fused_loop.hpp).
#pragma once

#include <maso/simd/batch_ops.hpp>
#include <maso/simd/fused_loop.hpp>

#include <algorithm>

namespace maso::simd {

// The pointers and the body are taken by value: xsimd's stores go through
// may_alias types, so anything the loop reads through a reference (the pointer
// arrays, the constants a body captured) would be reloaded after every store.
template <std::size_t NAcc = 0, class Arch, class T, std::size_t NIn, std::size_t NOut, class Body>
requires(!std::is_same_v<Arch, scalar_arch>) std::array<T, NAcc> fused_loop(
    Arch, std::size_t n, const std::array<const T*, NIn> in, const std::array<T*, NOut> out,
    Body body) {
    using batch = xsimd::batch<T, Arch>;
    constexpr std::size_t W = batch::size;
    std::array<batch, NAcc> acc;
    acc.fill(batch(T(0)));
    const std::size_t full = n - n % W;
    for (std::size_t i = 0; i < full; i += W) {
        std::array<batch, NIn> v;
        detail::static_for<NIn>([&](auto k) { v[k] = batch::load_unaligned(in[k] + i); });
        const std::array<batch, NOut> r = body(v, acc);
        detail::static_for<NOut>([&](auto k) { r[k].store_unaligned(out[k] + i); });
    }
    if (full != n) {
        // The tail: a zero-padded copy goes through the same batch body.
        alignas(64) T buf[(NIn > NOut ? NIn : NOut)][W];
        std::array<batch, NIn> v;
        detail::static_for<NIn>([&](auto k) {
            std::fill(buf[k], buf[k] + W, T(0));
            std::copy(in[k] + full, in[k] + n, buf[k]);
            v[k] = batch::load_aligned(buf[k]);
        });
        const std::array<batch, NOut> r = body(v, acc);
        detail::static_for<NOut>([&](auto k) {
            r[k].store_aligned(buf[k]);
            std::copy(buf[k], buf[k] + (n - full), out[k] + full);
        });
    }
    std::array<T, NAcc> sums{};
    detail::static_for<NAcc>([&](auto k) { sums[k] = xsimd::hadd(acc[k]); });
    return sums;
}

} // namespace maso::simd
