// maso/io/detail/byte_to_unit.hpp — a pixel byte as a float in [0, 1].
// Internal to io/: the IDX and CIFAR readers share it.
#pragma once

#include <array>
#include <cstddef>

namespace maso::io::detail {

/// p/255 for every byte p, correctly rounded (a table: one load per pixel, and
/// the same floats whichever reader produced them).
inline const std::array<float, 256>& byte_to_unit() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (std::size_t p = 0; p < 256; ++p)
            t[p] = float(p) / 255.f;
        return t;
    }();
    return table;
}

} // namespace maso::io::detail
