// maso/io/detail/random.hpp — uniform integers and shuffles that are the same on every
// standard library. Internal to io/: the samplers and the augmenter use it.
//
// std::mt19937_64 is specified to the bit, but std::uniform_int_distribution and
// std::shuffle are not (libstdc++ and libc++ map the generator's output to a range
// differently), so a seed would give other batches with clang++ and libc++. The
// two algorithms below are short and fixed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <utility>

namespace maso::io::detail {

/// Uniform in [0, n) for n ≥ 1, without modulo bias: outputs below 2⁶⁴ mod n are
/// drawn again, so the accepted range is a whole number of copies of [0, n)
/// (OpenBSD's arc4random_uniform). Fewer than 2 draws on average for any n.
inline std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n; // 2⁶⁴ mod n, in 64-bit arithmetic
    for (;;) {
        const std::uint64_t r = g();
        if (r >= threshold) return r % n;
    }
}

/// Fisher–Yates: every permutation of v equally likely.
template <class T>
void shuffle(std::span<T> v, std::mt19937_64& g) {
    for (std::size_t i = v.size(); i > 1; --i)
        std::swap(v[i - 1], v[std::size_t(uniform_below(g, i))]);
}

/// Partial Fisher–Yates: afterwards v[0, k) is a uniformly random k-subset of v
/// (in random order), whatever order v was in. k ≤ v.size().
template <class T>
void choose_front(std::span<T> v, std::size_t k, std::mt19937_64& g) {
    for (std::size_t i = 0; i < k; ++i)
        std::swap(v[i], v[i + std::size_t(uniform_below(g, v.size() - i))]);
}

} // namespace maso::io::detail
