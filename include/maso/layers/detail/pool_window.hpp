// maso/layers/detail/pool_window.hpp — one pooling window's shapes and math, for the pooling
// layers.
//
// Internal to layers/maxpool.hpp, avgpool.hpp, softpool.hpp and maxout.hpp; users include
// those. For a window of R values v (paper-spec §4.4–§4.6, §3.1):
//
//   hard (β = 1)  y = v_r*, r* = the first maximum (vq/derive.hpp's tie rule: the lowest
//                 index wins), ∂y/∂v = e_r*
//   β-VQ          p = softmax(η v), y = Σ_r p_r v_r,
//                 ∂y/∂v_j = p_j (1 + η (v_j − y)),   ∂y/∂η = Var_p(v) = Σ_r p_r (v_r − y)²
//   average       β = 0 (η = 0): p uniform, y = (1/R) Σ_r v_r, ∂y/∂v_j = 1/R
//
// The math is vq/derive.hpp's, in its span forms over regions that are the window's values
// (window_max<R> without the chain through identity slopes and R-sized stack arrays), so it
// serves any R: R = 1 (a 1×1 window, which window_max refuses with E001) and a global pool's
// whole plane. This header adds the shapes and what the pooling nodes publish, the K×K
// windows of a plane, and the choice between the hard path and η that a layer's β makes
// (window_pool). The layers run the same math vectorised (window_pass.hpp, many windows
// on lanes; plane_window.hpp, a plane-sized window's members on lanes): forward_windows,
// backward_windows and window_pool, one window and one std::exp at a time, are the
// scalar reference the tests hold those to.
#pragma once

#include <maso/core/diagnostics.hpp>
#include <maso/core/shape.hpp>
#include <maso/expr/node.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/derive.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace maso::detail {

// ---- shapes ----------------------------------------------------------------------------
//
// expr/chain.hpp names N::output_shape<In> also for a fragment (In = no_input) and for an
// input that failed check<In>(), so these map anything that is not a valid shape, and a
// zero window, to invalid_shape instead of failing to compile.

template <class In, std::size_t K>
struct pooled_shape {
    using type = invalid_shape;
};
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K>
requires(K > 0) struct pooled_shape<shape<C, H, W>, K> {
    using type = shape<C, H / K, W / K>;
};
/// C channels of H×W → C channels of (H/K)×(W/K).
template <class In, std::size_t K>
using pooled_shape_t = typename pooled_shape<In, K>::type;

template <class In, std::size_t K>
struct grouped_shape {
    using type = invalid_shape;
};
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K>
requires(K > 0) struct grouped_shape<shape<C, H, W>, K> {
    using type = shape<C / K, H, W>;
};
/// C channels → C/K channels of the same map (maxout).
template <class In, std::size_t K>
using grouped_shape_t = typename grouped_shape<In, K>::type;

/// E018 for a zero window, E014 when K×K windows do not tile the map. A fragment's no_input
/// has nothing to check yet (expr/chain.hpp instantiates check<no_input> too).
template <class In, std::size_t K>
consteval diag check_pool() {
    if constexpr (K == 0)
        return diag::zero_extent;
    else if constexpr (!is_shape_v<In>)
        return diag::ok;
    else if constexpr (In::height % K != 0 || In::width % K != 0)
        return diag::pool_not_dividing;
    else
        return diag::ok;
}

/// What the K×K, stride K pooling nodes (maxpool, avgpool, softpool) publish: a window that
/// lies inside one H×W plane, checked by check_pool, with output pooled_shape_t.
template <std::size_t K>
struct pool_node {
    static constexpr node_kind kind = node_kind::window;
    static constexpr bool fusable = true; ///< each window lies inside one H×W plane
    static constexpr std::size_t window = K;

    template <class In>
    static consteval diag check() {
        return check_pool<In, K>();
    }
    template <class In>
    using output_shape = pooled_shape_t<In, K>;
};

// ---- K×K windows of one H×W plane ------------------------------------------------------

/// Window (i, j) of a plane of width W, row-major inside the window: the tie rule's order.
template <std::size_t K, std::size_t W, class T>
std::array<T, K * K> gather_window(const T* plane, std::size_t i, std::size_t j) noexcept {
    std::array<T, K * K> v;
    for (std::size_t a = 0; a < K; ++a)
        for (std::size_t b = 0; b < K; ++b)
            v[a * K + b] = plane[(i * K + a) * W + j * K + b];
    return v;
}
template <std::size_t K, std::size_t W, class T>
void scatter_window(const std::array<T, K * K>& v, T* plane, std::size_t i,
                    std::size_t j) noexcept {
    for (std::size_t a = 0; a < K; ++a)
        for (std::size_t b = 0; b < K; ++b)
            plane[(i * K + a) * W + j * K + b] = v[a * K + b];
}

/// out[i·Wo + j] = f(window (i, j)'s K·K values) over one plane of an In-shaped map.
template <class In, std::size_t K, class T, class F>
void forward_windows(const T* in, T* out, F&& f) {
    constexpr std::size_t Ho = In::height / K, Wo = In::width / K;
    for (std::size_t i = 0; i < Ho; ++i)
        for (std::size_t j = 0; j < Wo; ++j)
            out[i * Wo + j] = f(gather_window<K, In::width>(in, i, j));
}
/// f(values, dy, dv) for every window (i, j), dy = dout[i·Wo + j]: f writes ∂L/∂values into
/// dv, which starts at 0 and lands in din's window (windows tile the plane, so din is written
/// once). With din null (only parameter gradients wanted) dv is empty.
template <class In, std::size_t K, class T, class F>
void backward_windows(const T* in, const T* dout, T* din, F&& f) {
    constexpr std::size_t Ho = In::height / K, Wo = In::width / K;
    for (std::size_t i = 0; i < Ho; ++i)
        for (std::size_t j = 0; j < Wo; ++j) {
            std::array<T, K * K> dv{};
            f(gather_window<K, In::width>(in, i, j), dout[i * Wo + j],
              din ? std::span<T>(dv) : std::span<T>());
            if (din) scatter_window<K, In::width>(dv, din, i, j);
        }
}

// ---- one window at a layer's β -----------------------------------------------------------

/// The hard path (β = 1, θ = +∞) or η, read once per channel from the layer's β. η = ∞ from a
/// finite θ is not the hard path: ties average there (the β → 1 limit) instead of going to
/// the first maximum.
template <class T>
struct window_pool {
    bool hard;
    T eta;

    explicit window_pool(vq::basic_beta<T> b) noexcept : hard(b.is_hard()), eta(b.eta()) {}

    /// y of the window v: its first maximum when hard, else the β-VQ mean.
    T forward(std::span<const T> v) const noexcept {
        return hard ? v[vq::hard_region(v)] : vq::beta_forward<T>(v, eta);
    }
    /// Overwrites dv with ∂L/∂v for upstream dy, unless dv is empty (the input needs no
    /// gradient; dv may not alias v), and returns ∂L/∂η: 0 on the hard path (§9.3).
    T backward(std::span<const T> v, T dy, std::span<T> dv) const noexcept {
        if (!hard) return vq::beta_backward<T>(v, eta, dy, dv);
        if (!dv.empty()) {
            std::fill(dv.begin(), dv.end(), T(0));
            dv[vq::hard_region(v)] = dy;
        }
        return T(0);
    }
};

} // namespace maso::detail
