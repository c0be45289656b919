// maso_test/column_map.hpp — which pixel each column of a convolution's patch order stands
// for, built forwards from the definition (tests/kernels/implicit_conv_test.cpp,
// tests/kernels/conv/patch_runs_test.cpp), whereas the kernels decode columns into pixels, so
// the two are independent.
#pragma once

#include <maso/kernels/conv_geometry.hpp>
#include <maso/kernels/patch_order.hpp>

#include <cstddef>
#include <numeric>
#include <vector>

namespace maso_test {

using maso::kernels::conv_geometry;
using maso::kernels::patch_order;

/// The columns of order o, from its definition: the pixels, or the k×k windows
/// rounded up to whole groups of L, k² columns each.
inline std::size_t expected_columns(const conv_geometry& g, patch_order o) {
    const std::size_t ho = g.out_height(), wo = g.out_width();
    if (o.window == 0) return g.batch * ho * wo;
    const std::size_t k = o.window, L = o.lanes;
    const std::size_t windows = g.batch * (ho / k) * (wo / k);
    std::size_t groups = 0;
    while (groups * L < windows)
        ++groups;
    return groups * L * k * k;
}

/// For each column j of order o, the natural column (n·Ho + oy)·Wo + ox of its
/// pixel, or −1 for a padding column. Built forwards from the windows — member
/// r = (dy, dx) of window w goes to column (w / L)·L·k² + r·L + w % L — whereas the
/// header decodes columns into pixels, so the two are independent.
inline std::vector<std::ptrdiff_t> column_map(const conv_geometry& g, patch_order o) {
    const std::size_t ho = g.out_height(), wo = g.out_width();
    std::vector<std::ptrdiff_t> map(expected_columns(g, o), -1);
    if (o.window == 0) {
        std::iota(map.begin(), map.end(), std::ptrdiff_t(0));
        return map;
    }
    const std::size_t k = o.window, L = o.lanes;
    std::size_t w = 0;
    for (std::size_t n = 0; n < g.batch; ++n)
        for (std::size_t py = 0; py < ho / k; ++py)
            for (std::size_t px = 0; px < wo / k; ++px, ++w)
                for (std::size_t dy = 0; dy < k; ++dy)
                    for (std::size_t dx = 0; dx < k; ++dx) {
                        const std::size_t j = w / L * L * k * k + (dy * k + dx) * L + w % L;
                        map.at(j) =
                            static_cast<std::ptrdiff_t>((n * ho + py * k + dy) * wo + px * k + dx);
                    }
    return map;
}

} // namespace maso_test
