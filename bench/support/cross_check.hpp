// bench/support/cross_check.hpp — a benchmark's result held against another computation of
// it, once, before anything is timed.
//
// A ratio of two speeds means something only if both sides compute the same thing: the fused
// plan and fuse::none the same outputs and gradients, a SIMD pass what its scalar build
// computes. Each benchmark case therefore computes its result the other way once (the first
// repetition of the case in the process: first_time) and stops the binary with a message if
// the two disagree beyond what float rounding explains (agree_or_abort): a benchmark of a
// wrong result is not a figure.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <span>
#include <string>

namespace maso_bench {

/// True the first time a case of this name asks, false after (repetitions share the name).
inline bool first_time(const std::string& name) {
    static std::mutex m;
    static std::set<std::string> seen;
    const std::lock_guard lock(m);
    return seen.insert(name).second;
}

/// Float tolerance of two computations of one result that sum in different orders: each
/// value within `rel` of the larger of the two, or within rel · max|b| for values that
/// cancel to far below the rest (a gradient summed over a batch).
struct tolerance {
    double rel = 1e-3;
};

/// Prints what disagrees and aborts unless |a_i − b_i| ≤ rel · max(|a_i|, |b_i|, max_j |b_j| ·
/// 0.1) for every i (and the sizes match, and every value is finite).
inline void agree_or_abort(std::span<const float> a, std::span<const float> b,
                           const std::string& what, tolerance t = {}) {
    if (a.size() != b.size()) {
        std::fprintf(stderr, "maso bench: %s: %zu values against %zu\n", what.c_str(), a.size(),
                     b.size());
        std::abort();
    }
    double largest = 0;
    for (const float v : b)
        largest = std::max(largest, double(std::fabs(v)));
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = a[i], y = b[i];
        const double scale = std::max({std::fabs(x), std::fabs(y), 0.1 * largest});
        if (!std::isfinite(x) || !std::isfinite(y) || std::fabs(x - y) > t.rel * scale) {
            std::fprintf(stderr,
                         "maso bench: %s disagree at %zu of %zu: %.9g against %.9g (largest "
                         "|value| %.3g, relative tolerance %.1e)\n",
                         what.c_str(), i, a.size(), x, y, largest, t.rel);
            std::abort();
        }
    }
}

/// agree_or_abort for one value.
inline void agree_or_abort(float a, float b, const std::string& what, tolerance t = {}) {
    agree_or_abort(std::span<const float>(&a, 1), std::span<const float>(&b, 1), what, t);
}

} // namespace maso_bench
