// maso/train/clip.hpp — gradient clipping by global norm.
//
//   ‖g‖ = √(Σ g²) over every trainable gradient of the model (one flat buffer, gradients());
//   if ‖g‖ > max_norm, every gradient is multiplied by max_norm / (‖g‖ + 10⁻⁶)
//
// as PyTorch's clip_grad_norm_ does (the 10⁻⁶ keeps the clipped norm just below max_norm).
// It returns ‖g‖ before clipping, to log. Call it between backward() and the optimiser's
// step():
//
//   m.zero_gradients(); m.forward(images, labels); m.backward();
//   const double norm = maso::clip_gradient_norm(m, 1.0);
//   opt.step();
//
// Why the sum is cut into a fixed number of chunks: a sum's rounding depends on its order. The
// squares are summed in double, chunk by chunk, and the chunks' sums added in chunk order; the
// chunks depend on the number of gradients only, and threads take whole chunks, so the norm —
// and the clipped gradients — are bitwise the same at any thread count. Nothing is allocated.
//
// A max_norm that is not finite and positive is a maso::value_error. A norm that is not
// finite (a gradient is NaN or infinite) is a maso::numeric_error, and the gradients are left
// as they were: scaling them would spread the NaN to every parameter.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/thread_pool.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>

namespace maso {

namespace detail {
/// Chunks of the norm's sum; fixed, so that the order of its additions is.
inline constexpr std::size_t norm_chunks = 64;

inline std::string shortest_double(double v) {
    char digits[32];
    return std::string(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
}
} // namespace detail

/// Clips a buffer of gradients to global norm max_norm (see the top of this file); returns
/// the norm before clipping.
inline double clip_gradient_norm(std::span<float> gradients, double max_norm) {
    if (!(std::isfinite(max_norm) && max_norm > 0))
        throw value_error("maso: clip_gradient_norm: max_norm = " +
                          detail::shortest_double(max_norm) + " must be finite and positive");
    const std::size_t n = gradients.size(), chunks = detail::norm_chunks;
    float* const g = gradients.data();
    std::array<double, detail::norm_chunks> partial{};
    parallel_for(chunks, [&](std::size_t begin, std::size_t end, std::size_t) {
        for (std::size_t c = begin; c < end; ++c) {
            const detail::index_range r = detail::static_range(n, chunks, c);
            // Four running sums, element i into sum i mod 4: a fixed order that the compiler
            // may still run as one vector of four lanes.
            std::array<double, 4> s{};
            std::size_t i = r.begin;
            for (; i + 4 <= r.end; i += 4)
                for (std::size_t k = 0; k < 4; ++k)
                    s[k] += double(g[i + k]) * double(g[i + k]);
            for (std::size_t k = 0; i < r.end; ++i, ++k)
                s[k] += double(g[i]) * double(g[i]);
            partial[c] = (s[0] + s[1]) + (s[2] + s[3]);
        }
    });
    double sum = 0;
    for (const double p : partial)
        sum += p;
    const double norm = std::sqrt(sum);
    if (!std::isfinite(norm))
        throw numeric_error("maso: clip_gradient_norm: the gradient norm is " +
                            std::string(std::isnan(norm) ? "nan" : "inf") +
                            "; the gradients are left as they were");
    if (norm > max_norm) {
        const float scale = float(max_norm / (norm + 1e-6));
        parallel_for(chunks, [&](std::size_t begin, std::size_t end, std::size_t) {
            const detail::index_range first = detail::static_range(n, chunks, begin);
            const detail::index_range last = detail::static_range(n, chunks, end - 1);
            for (std::size_t i = first.begin; i < last.end; ++i)
                g[i] *= scale;
        });
    }
    return norm;
}

/// Clips every trainable gradient of a model (its gradients() buffer: running statistics
/// have none) to global norm max_norm; returns the norm before clipping.
template <class Model>
requires requires(Model& m) {
    { m.gradients() } -> std::convertible_to<std::span<float>>;
}
double clip_gradient_norm(Model& model, double max_norm) {
    return clip_gradient_norm(std::span<float>(model.gradients()), max_norm);
}

} // namespace maso
