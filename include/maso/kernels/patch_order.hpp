// maso/kernels/patch_order.hpp — which output pixel each GEMM column of a
// convolution's Z stands for: natural order, or the k×k pooling windows laid across
// the register tiles (the layout is explained in kernels/implicit_conv.hpp). The
// planner chooses it per fused group; a dense layer takes it and ignores it.
#pragma once

#include <maso/kernels/conv_geometry.hpp>

#include <cstddef>

namespace maso::kernels {

/// Which output pixel each GEMM column of a convolution's Z stands for.
struct patch_order {
    std::size_t window = 0; ///< k of the k×k windows laid across tiles; 0: natural order
    std::size_t lanes = 0;  ///< L, windows per group (window order only)

    static constexpr patch_order natural() { return {}; }
    static constexpr patch_order windows(std::size_t k, std::size_t lanes) { return {k, lanes}; }
    constexpr bool is_natural() const { return window == 0; }

    /// Columns of Z for geometry g: the pixels of the batch, or in window order the
    /// windows rounded up to whole groups, k² columns each.
    constexpr std::size_t columns(const conv_geometry& g) const {
        if (is_natural()) return g.columns();
        const std::size_t groups = (windows_of(g) + lanes - 1) / lanes;
        return groups * lanes * window * window;
    }
    constexpr std::size_t windows_of(const conv_geometry& g) const {
        return g.batch * (g.out_height() / window) * (g.out_width() / window);
    }
};

} // namespace maso::kernels
