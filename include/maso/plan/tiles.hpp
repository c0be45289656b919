// maso/plan/tiles.hpp — which fused groups run on the GEMM's register tiles.
//
// A fused group [contraction] elementwise* [window] whose contraction is a
// convolution and which has no batch norm (its statistics need all of z before
// anything can be applied) runs its bias and units as the epilogue of the
// convolution's GEMM, on each finished register tile (plan/lower.hpp). Its window
// joins them when a tile can hold whole windows: a K×K pooling layer with lane math
// (`lanes`: max, average, softpool) whose K² members fill the tile's SIMD batches —
// 2×2 with AVX-512's four batches per row; otherwise the window runs as a pass over
// the planes. The answer depends on the value type and the ISA the program is built
// for, so it is a function of both; describe() asks about float on the default ISA.
#pragma once

#include <maso/kernels/gemm.hpp>
#include <maso/kernels/implicit_conv.hpp>
#include <maso/plan/group.hpp>
#include <maso/plan/infer_shapes.hpp>

#include <array>
#include <utility>

namespace maso::plan {

/// Node I's layer for values T.
template <class Net, std::size_t I, class T>
using layer_at_t = typename type_at_t<I, flatten_t<Net>>::template layer<input_shape_t<Net, I>, T>;

struct tile_plan {
    bool chain = false;  ///< bias and units run on the GEMM's tiles (z in the GEMM's order)
    bool window = false; ///< and the pooling window too
};

template <class Net, class Policy, std::size_t K, class T = float, class Arch = xsimd::default_arch>
constexpr tile_plan tiles() {
    constexpr group g = groups_v<Net, Policy>[K];
    if constexpr (g.fused && g.contraction && !g.normalization) {
        using C = layer_at_t<Net, g.begin, T>;
        constexpr bool conv = requires { C::columns(std::size_t{1}, kernels::patch_order{}); };
        if constexpr (!conv) {
            return {};
        } else if constexpr (!g.window) {
            return {true, false};
        } else {
            using W = layer_at_t<Net, g.end - 1, T>;
            constexpr bool lanes = requires(const W& w, const typename W::io& io) {
                w.lanes(io, std::size_t{0});
            };
            if constexpr (lanes) {
                constexpr std::size_t k = type_at_t<g.end - 1, flatten_t<Net>>::window;
                constexpr bool fits = k * k == kernels::detail::gemm_blocking<Arch, T>::NV;
                return {fits, fits};
            } else {
                return {};
            }
        }
    } else {
        return {};
    }
}

/// tiles() of every group, for code that walks the groups at run time.
template <class Net, class Policy, class T = float, class Arch = xsimd::default_arch>
inline constexpr auto tiles_v = []<std::size_t... K>(std::index_sequence<K...>) {
    return std::array<tile_plan, sizeof...(K)>{tiles<Net, Policy, K, T, Arch>()...};
}
(std::make_index_sequence<groups_v<Net, Policy>.size()>{});

} // namespace maso::plan
