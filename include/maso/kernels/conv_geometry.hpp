// maso/kernels/conv_geometry.hpp — the sizes of one convolution, shared by its
// explicit (kernels/im2col.hpp) and implicit (kernels/implicit_conv.hpp) forms.
#pragma once

#include <cstddef>

namespace maso::kernels {

/// Sizes of one convolution; x is [channels][batch][height][width].
struct conv_geometry {
    std::size_t channels, batch, height, width;
    std::size_t kernel, stride, pad;

    constexpr std::size_t out_height() const { return (height + 2 * pad - kernel) / stride + 1; }
    constexpr std::size_t out_width() const { return (width + 2 * pad - kernel) / stride + 1; }
    /// Rows of cols: one per filter tap.
    constexpr std::size_t rows() const { return channels * kernel * kernel; }
    /// Columns of cols: one per output pixel of the batch.
    constexpr std::size_t columns() const { return batch * out_height() * out_width(); }
};

} // namespace maso::kernels
