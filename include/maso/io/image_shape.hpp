// maso/io/image_shape.hpp — the (C, H, W) of every image in a data set.
//
// A run-time value, unlike the compile-time shape<C, H, W> of a network: a file
// says how large its images are only when it is read. Data sets store their
// images [N][C][H][W], the layout maso's models take.
#pragma once

#include <cstddef>
#include <string>

namespace maso::io {

struct image_shape {
    std::size_t channels = 0;
    std::size_t height = 0;
    std::size_t width = 0;

    /// Floats per image, C·H·W.
    constexpr std::size_t size() const noexcept { return channels * height * width; }
    /// Floats per channel plane, H·W.
    constexpr std::size_t plane() const noexcept { return height * width; }

    friend constexpr bool operator==(const image_shape&, const image_shape&) = default;
};

/// "3x32x32", as the messages print a shape.
inline std::string to_string(const image_shape& s) {
    return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
           std::to_string(s.width);
}

} // namespace maso::io
