// maso/core/shape.hpp — compile-time feature-map shapes.
//
// A shape is C channels of H×W pixels; a vector of N features is shape<N, 1, 1>.
// Only the batch size is a run-time value. In memory maso keeps activations
// channel-major, [C][batch][H][W] (core/tensor.hpp), so that per-channel
// parameters (bias, β, batch norm) are scalars over one contiguous run.
#pragma once

#include <cstddef>

namespace maso {

template <std::size_t C, std::size_t H = 1, std::size_t W = 1>
struct shape {
    static constexpr std::size_t channels = C;
    static constexpr std::size_t height = H;
    static constexpr std::size_t width = W;
    static constexpr std::size_t plane = H * W; ///< pixels per channel
    static constexpr std::size_t size = C * H * W;
    static constexpr bool is_vector = (H == 1 && W == 1);
};

/// Stands in for the output of a node whose input failed its check, so that one
/// mistake gives one error and not a cascade through the rest of the chain.
struct invalid_shape {
    static constexpr std::size_t channels = 0, height = 0, width = 0, plane = 0, size = 0;
    static constexpr bool is_vector = false;
};

template <class S>
inline constexpr bool is_shape_v = false;
template <std::size_t C, std::size_t H, std::size_t W>
inline constexpr bool is_shape_v<shape<C, H, W>> = true;

} // namespace maso
