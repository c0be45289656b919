// maso/run/codes.hpp — the VQ codes a forward pass records: for every unit, the region it
// picked (paper-spec §1, T^H), and for the elementwise units the β-VQ posteriors (§3, T^β).
//
// A program records codes only once asked (program::record_codes), which sizes the buffers;
// forward then allocates nothing. The fused kernels write the codes themselves, on the
// values they already hold in registers — the tile epilogue, the chain pass, the plane
// pass and the channel-window pass (run/tile_epilogue.hpp, chain_pass.hpp, plane_window.hpp,
// channel_window.hpp): there is no second pass over memory. Which nodes have codes, and
// how many regions, each node publishes as `code_regions`:
//
//   beta_vq, soft_vq, hard_vq   a unit per element; its region argmax_r v_r(z): for the
//                               two-region closed forms z > 0 (the tie rule: z = 0 is region 0)
//   maxpool, softpool           a unit per window; its region the member chosen, the first
//                               maximum in row-major order (as max pooling's own tie rule)
//   maxout<R>                   a unit per output element; its region the channel chosen
//   global_softpool             a unit per plane; its region the member chosen, H·W of them
//                               (code_regions_for<In>: the count depends on the shape)
//
// The code is the hard region whatever β the node infers with: a β-VQ unit's T^H is the
// argmax of its posterior (Theorem 3), which is what its partition cell is. The posteriors
// (T^β) are recorded on request, for every node with codes.
//
// Storage, per node: one row of bits per channel and bit of the region index (⌈log₂ R⌉
// bit-planes: one for two regions, two for a 2×2 window, four for a 3×3 one), each padded to
// whole 64-bit words, cleared at the start of each forward. A unit of an elementwise node
// sits at its z's column (natural, or the window order of a kernel that pooled on its tiles:
// kernels/patch_order.hpp), a window unit at its output's (on the tiles: a word per tile's
// windows, node_codes::group); node_codes::region() maps (channel, image, pixel) there. A pass
// owns its rows and ors plainly; a tile stores its own word, or ors atomically when narrower.
#pragma once

#include <maso/kernels/patch_order.hpp>
#include <maso/simd/batch_loop.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/simd/lane_bits.hpp>
#include <maso/vq/beta.hpp>
#include <maso/vq/beta_window.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>
#include <type_traits>
#include <vector>

namespace maso::run {

template <class V>
MASO_ALWAYS_INLINE V floor_of(V v) {
    if constexpr (std::is_arithmetic_v<V>)
        return std::floor(v);
    else
        return xsimd::floor(v);
}

/// Where one node's codes go, and how to read them back.
template <class T>
struct node_codes {
    std::size_t regions = 0;           ///< 0: the node records no codes
    std::size_t channels = 0;          ///< rows
    std::size_t ld = 0;                ///< columns of a row (a multiple of 64)
    std::size_t height = 0, width = 0; ///< the units' map (a vector: 1×1)
    /// Bit q of unit (c, j)'s region at bit (c·planes + q)·ld + j: one bit-plane per bit of
    /// the region index.
    std::uint64_t* bits = nullptr;
    /// β-VQ posteriors (when asked for): p_1 for two regions, else p_r at row c·R + r, at the
    /// unit's column. Null otherwise.
    T* posteriors = nullptr;
    /// The column order of the last forward (elementwise nodes of a kernel that pooled on
    /// its tiles may see window order).
    kernels::patch_order order{};
    /// A window node pooled on the register tiles: each tile's `group` windows own a 64-bit
    /// word (the tiles' threads then share none), window w at column (w / group)·64 +
    /// w % group. 0: the natural column.
    std::size_t group = 0;

    bool recorded() const noexcept { return regions != 0 && bits; }
    /// Bits a code takes: 1 for two regions, 2 for 3 or 4 (a 2×2 window), 4 for a 3×3 one.
    std::size_t planes() const noexcept { return regions < 2 ? 0 : std::bit_width(regions - 1); }
    std::size_t posterior_rows() const noexcept { return regions == 2 ? 1 : regions; }

    /// The column of (image n, pixel p) in the order of the last forward.
    std::size_t column(std::size_t n, std::size_t p) const noexcept {
        const std::size_t plane = height * width;
        if (group != 0) return (n * plane + p) / group * 64 + (n * plane + p) % group;
        if (order.is_natural()) return n * plane + p;
        // Window order: window w = (n, y/k, x/k) in the pooled map's natural order, member
        // r = (y%k, x%k) row-major; group w/L, lane w%L; member r of lane l at r·L + l.
        const std::size_t k = order.window, L = order.lanes, y = p / width, x = p % width;
        const std::size_t wo = width / k, w = n * (plane / (k * k)) + (y / k) * wo + x / k;
        const std::size_t r = (y % k) * k + x % k;
        return (w / L) * (L * k * k) + r * L + w % L;
    }
    /// The region unit (c, n, p) picked in the last forward.
    std::size_t region(std::size_t c, std::size_t n, std::size_t p) const noexcept {
        const std::size_t j = column(n, p), q0 = c * planes();
        std::size_t r = 0;
        for (std::size_t q = 0; q < planes(); ++q) {
            const std::size_t b = (q0 + q) * ld + j;
            r |= std::size_t((bits[b / 64] >> (b % 64)) & 1u) << q;
        }
        return r;
    }
    /// The posterior of region r at unit (c, n, p), when posteriors were recorded.
    T posterior(std::size_t c, std::size_t n, std::size_t p, std::size_t r) const noexcept {
        const std::size_t j = column(n, p);
        if (regions == 2) {
            const T p1 = posteriors[c * ld + j];
            return r == 1 ? p1 : T(1) - p1;
        }
        return posteriors[(c * regions + r) * ld + j];
    }

    // ---- writing, from the kernels ---------------------------------------------------
    /// Stores the regions of the first `valid` lanes of v (region indices as values of T) at
    /// row c, columns j, j + 1, … Shared: other threads may write the same words of the row
    /// (the tile epilogue, whose tiles are narrower than a word), so bits are or-ed
    /// atomically; a pass that owns its rows ors them plainly.
    template <bool Shared = false, class V>
    MASO_ALWAYS_INLINE void put(std::size_t c, std::size_t j, V v, std::size_t valid) const {
        using O = simd::ops<V>;
        const std::uint64_t keep = valid < 64 ? (std::uint64_t(1) << valid) - 1 : ~0ull;
        const std::size_t P = planes(), q0 = c * P;
        if (P == 1) { // two regions: the index is the bit
            or_bits<Shared>(q0 * ld + j, lanes(v != O::broadcast(T(0))) & keep);
            return;
        }
        // Bit q of an index i (exact in T): whether frac(i / 2^(q+1)) ≥ ½.
        T scale = T(0.5);
        for (std::size_t q = 0; q < P; ++q, scale *= T(0.5)) {
            const V h = v * O::broadcast(scale);
            or_bits<Shared>((q0 + q) * ld + j,
                            lanes(h - floor_of(h) >= O::broadcast(T(0.5))) & keep);
        }
    }
    /// Ors the bits m (lane l at bit l, those past the valid columns clear) into bit-plane
    /// row c (channel · planes() + bit) from column j on.
    template <bool Shared = false>
    MASO_ALWAYS_INLINE void put_bits(std::size_t c, std::size_t j, std::uint64_t m) const {
        or_bits<Shared>(c * ld + j, m);
    }
    /// Stores m as the whole word at bit-plane row c, column j (a multiple of 64): for a
    /// writer that owns the word (a tile as wide as a word), no read of it.
    MASO_ALWAYS_INLINE void store_word(std::size_t c, std::size_t j, std::uint64_t m) const {
        bits[(c * ld + j) / 64] = m;
    }
    /// Stores the first `valid` lanes of posterior row q (0 for two regions) at row c.
    template <class V>
    MASO_ALWAYS_INLINE void put_posterior(std::size_t c, std::size_t q, std::size_t j, V p,
                                          std::size_t valid) const {
        alignas(64) T r[lanes_of<V>];
        store(p, r);
        std::copy_n(r, valid, posteriors + (c * posterior_rows() + q) * ld + j);
    }

    /// Stores the first `valid` lanes of a unit's R posteriors at row c, column j: p_1 alone
    /// for two regions (posterior() forms p_0 as 1 − p_1), else one row a member.
    template <std::size_t R, class V>
    MASO_ALWAYS_INLINE void put_posteriors(std::size_t c, std::size_t j, const std::array<V, R>& p,
                                           std::size_t valid) const {
        if constexpr (R == 2)
            put_posterior(c, 0, j, p[1], valid);
        else
            for (std::size_t r = 0; r < R; ++r)
                put_posterior(c, r, j, p[r], valid);
    }

    template <class V>
    static constexpr std::size_t lanes_of = [] {
        if constexpr (std::is_arithmetic_v<V>)
            return std::size_t{1};
        else
            return V::size;
    }();

private:
    template <class M>
    MASO_ALWAYS_INLINE static std::uint64_t lanes(const M& m) {
        if constexpr (std::is_same_v<M, bool>)
            return m;
        else
            return simd::lane_bits(m);
    }
    template <class V>
    static void store(V v, T* r) {
        if constexpr (std::is_arithmetic_v<V>)
            r[0] = v;
        else
            v.store_aligned(r);
    }
    /// Or-s the mask's bits into the bits from bit b on: into one word, or two when they
    /// straddle a boundary (a plane whose size is no multiple of the lanes).
    template <bool Shared>
    MASO_ALWAYS_INLINE void or_bits(std::size_t b, std::uint64_t m) const {
        if (m == 0) return;
        const std::size_t s = b % 64;
        or_word<Shared>(bits[b / 64], m << s);
        if (s != 0 && (m >> (64 - s)) != 0) or_word<Shared>(bits[b / 64 + 1], m >> (64 - s));
    }
    template <bool Shared>
    MASO_ALWAYS_INLINE static void or_word(std::uint64_t& w, std::uint64_t m) {
        if constexpr (Shared)
            std::atomic_ref<std::uint64_t>(w).fetch_or(m, std::memory_order_relaxed);
        else
            w |= m;
    }
};

/// The regions of a node's units when its input has shape In: its code_regions, or, for a
/// node whose regions depend on the shape (global pooling: a unit per plane), its
/// code_regions_for<In>; 0 for a node without units.
template <class Node, class In>
consteval std::size_t code_regions_of() {
    if constexpr (requires { Node::code_regions; })
        return Node::code_regions;
    else if constexpr (requires { Node::template code_regions_for<In>; })
        return Node::template code_regions_for<In>;
    else
        return 0;
}

/// The codes of whole-plane windows (global pooling): each of `planes` planes of `size`
/// values from `in` is one unit, whose region is its first maximum, at row c from column
/// `col` on; with the posteriors recorded, also each member's, e^{η(v_q − max)} / Σ (the
/// one-hot of the first maximum when hard). A pass over the planes the pooling has just
/// read, while they are in cache.
template <class T>
void record_plane_maxima(const node_codes<T>& sink, std::size_t c, const T* in, std::size_t size,
                         std::size_t col, std::size_t planes, vq::basic_beta<T> beta) {
    for (std::size_t n = 0; n < planes; ++n) {
        const T* v = in + n * size;
        const std::size_t best = std::size_t(std::max_element(v, v + size) - v);
        sink.put(c, col + n, T(best), 1);
        if (!sink.posteriors) continue;
        // Member q's posterior at its row (two regions: p_1 alone, node_codes::posterior).
        auto put = [&](std::size_t q, T value) {
            if (sink.posterior_rows() == size)
                sink.posteriors[(c * size + q) * sink.ld + col + n] = value;
            else if (q == 1)
                sink.posteriors[c * sink.ld + col + n] = value;
        };
        if (beta.is_hard()) {
            for (std::size_t q = 0; q < size; ++q)
                put(q, T(q == best));
            continue;
        }
        // The window's own weights (vq/beta_window.hpp): at η = ∞ from a finite θ the tied
        // maxima share the posterior, where exp(η·0) would be NaN.
        const vq::beta_window<T> w(v[best], beta.eta());
        T total = 0;
        for (std::size_t q = 0; q < size; ++q)
            total += w.weight(v[q]);
        for (std::size_t q = 0; q < size; ++q)
            put(q, w.weight(v[q]) / total);
    }
}

/// A pointwise op that is a unit publishes its regions (layers/vq_node.hpp: vq_op) and has
/// region(v) and posterior(v, r).
template <class Op>
inline constexpr bool op_has_codes = requires {
    Op::code_regions;
};

/// The index of each lane's first maximum among R members, as a value of T: max pooling's
/// and maxout's region.
template <std::size_t R, class V>
MASO_ALWAYS_INLINE V first_max_index(const std::array<V, R>& v) {
    using O = simd::ops<V>;
    V best = v[0], index = O::broadcast(0);
    for (std::size_t r = 1; r < R; ++r) {
        const auto wins = v[r] > best;
        best = O::select(wins, v[r], best);
        index = O::select(wins, O::broadcast(typename O::value_type(r)), index);
    }
    return index;
}

/// The codes of a chain's units at row c, columns j…: `sinks[i]` is op i's node (null for an
/// op without codes: a bias, a batch-norm apply). The value goes through the chain as
/// kernels::chain_value takes it; each unit records the region of its input on the way.
template <bool Shared = false, class T, class V, class... Ops>
MASO_ALWAYS_INLINE V coded_chain_value(
    const std::tuple<Ops...>& ops, const std::array<const node_codes<T>*, sizeof...(Ops)>& sinks,
    V v, std::size_t c, std::size_t j, std::size_t valid) {
    simd::detail::static_for<sizeof...(Ops)>([&](auto i) {
        const auto& op = std::get<i>(ops);
        if constexpr (op_has_codes<std::decay_t<decltype(op)>>)
            if (const node_codes<T>* s = sinks[i]) {
                s->template put<Shared>(c, j, op.region(v), valid);
                if (s->posteriors) {
                    if (s->regions == 2) {
                        s->put_posterior(c, 0, j, op.posterior(v, 1), valid);
                    } else {
                        for (std::size_t r = 0; r < s->regions; ++r)
                            s->put_posterior(c, r, j, op.posterior(v, r), valid);
                    }
                }
            }
        v = op.forward(v);
    });
    return v;
}

/// A comparison's lanes as bits (one lane: the bool itself).
template <class M>
MASO_ALWAYS_INLINE std::uint64_t bits_of(const M& m) {
    if constexpr (std::is_same_v<M, bool>)
        return m;
    else
        return simd::lane_bits(m);
}

/// The chain on v, each unit's region (two regions: a bit a lane) or-ed into its word at
/// bit `shift` on: the tile epilogue's row of codes.
template <class V, class... Ops>
MASO_ALWAYS_INLINE V chain_value_bits(const std::tuple<Ops...>& ops, V v,
                                      std::array<std::uint64_t, sizeof...(Ops)>& words,
                                      std::size_t shift) {
    simd::detail::static_for<sizeof...(Ops)>([&](auto i) {
        const auto& op = std::get<i>(ops);
        if constexpr (op_has_codes<std::decay_t<decltype(op)>>)
            words[i] |= bits_of(op.region_mask(v)) << shift;
        v = op.forward(v);
    });
    return v;
}

/// y = chain(x) over n values, as kernels::chain_forward, recording the units' codes at row
/// c, columns j0, j0 + 1, … The loop's body sees the values in order, full batches then the
/// padded tail (simd/fused_loop.hpp), so it counts its column; the tail's padding lanes are
/// not recorded. With one bit a code and no posteriors, each unit node's bits are gathered
/// into a word and or-ed once per 64 columns.
template <class Arch, class T, class... Ops>
void coded_chain_forward(Arch arch, const std::tuple<Ops...>& ops,
                         const std::array<const node_codes<T>*, sizeof...(Ops)>& sinks,
                         std::size_t c, std::size_t j0, const T* x, T* y, std::size_t n) {
    bool one_bit = true;
    for (const auto* s : sinks)
        if (s && (s->planes() != 1 || s->posteriors)) one_bit = false;
    std::size_t j = 0;
    if (!one_bit) {
        simd::fused_loop(arch, n, std::array<const T*, 1>{x}, std::array<T*, 1>{y},
                         [&](const auto& in, auto&) {
                             using V = std::decay_t<decltype(in[0])>;
                             constexpr std::size_t W = node_codes<T>::template lanes_of<V>;
                             const std::size_t valid = std::min(W, n - j);
                             const V out = coded_chain_value(ops, sinks, in[0], c, j0 + j, valid);
                             j += W;
                             return std::array{out};
                         });
        return;
    }
    if constexpr (std::is_same_v<Arch, simd::scalar_arch>) {
        for (std::size_t i = 0; i < n; ++i)
            y[i] = coded_chain_value(ops, sinks, x[i], c, j0 + i, 1);
    } else {
        // One word of bits per unit node for every 64 / W batches, kept in registers: the
        // loop is written out rather than a fused_loop body, whose captures live in memory.
        using batch = xsimd::batch<T, Arch>;
        constexpr std::size_t W = batch::size, K = sizeof...(Ops);
        const std::size_t full = n - n % W;
        std::array<std::uint64_t, K> words{};
        std::size_t start = 0, filled = 0; ///< the words' first column, bits in them
        auto flush = [&](std::size_t valid) {
            const std::uint64_t keep =
                valid < 64 ? (std::uint64_t(1) << valid) - 1 : ~std::uint64_t(0);
            for (std::size_t k = 0; k < K; ++k)
                if (sinks[k]) sinks[k]->put_bits(c, j0 + start, words[k] & keep);
            words = {};
            start += filled;
            filled = 0;
        };
        for (std::size_t i = 0; i < full; i += W) {
            chain_value_bits(ops, batch::load_unaligned(x + i), words, filled)
                .store_unaligned(y + i);
            if ((filled += W) == 64) flush(64);
        }
        if (full != n) { // the tail through the same code, zero-padded; its padding not kept
            alignas(64) T buf[W] = {};
            std::copy(x + full, x + n, buf);
            chain_value_bits(ops, batch::load_aligned(buf), words, filled).store_aligned(buf);
            std::copy(buf, buf + (n - full), y + full);
            filled += W;
        }
        if (filled) flush(std::min(filled, n - start));
    }
}

/// The bit-planes of each lane's first maximum among R members — plane q holds bit q of its
/// index — and the maximum itself (max pooling's value) into `best`. The maximum is found as
/// max pooling finds it; then, from the last member down, each member equal to it sets the
/// planes to its index, so the first one's index stays: a comparison and P mask operations a
/// member.
template <std::size_t P, std::size_t R, class V>
MASO_ALWAYS_INLINE auto first_max_planes(const std::array<V, R>& v, V& best) {
    using O = simd::ops<V>;
    best = v[0];
    for (std::size_t r = 1; r < R; ++r)
        best = O::max(best, v[r]);
    using mask = decltype(v[0] == best);
    std::array<mask, P> planes;
    for (std::size_t q = 0; q < P; ++q) // member R − 1's index, kept where no other is a maximum
        planes[q] = ((R - 1) >> q) & 1 ? best == best : best != best;
    for (std::size_t k = 1; k < R; ++k) {
        const std::size_t r = R - 1 - k;
        const auto at_max = v[r] == best;
        for (std::size_t q = 0; q < P; ++q)
            planes[q] = (r >> q) & 1 ? (planes[q] || at_max) : (planes[q] && !at_max);
    }
    return planes;
}

/// first_max_planes as integers, bit l of word q the bit q of lane l's first maximum: what
/// the kernels or into their words of codes. A 2×2 window is a tournament of its rows: three
/// comparisons, strict so that a tie goes to the earlier member, combined as integers (on
/// AVX-512 the mask-register logic of first_max_planes costs more than the comparisons); its
/// maximum is still taken in max pooling's order, which fixes the sign of a zero maximum.
template <std::size_t P, std::size_t R, class V>
MASO_ALWAYS_INLINE std::array<std::uint64_t, P> first_max_bits(const std::array<V, R>& v, V& best) {
    std::array<std::uint64_t, P> bits;
    if constexpr (R == 4 && P == 2) {
        using O = simd::ops<V>;
        const V top = O::max(v[0], v[1]);
        best = O::max(O::max(top, v[2]), v[3]);
        const std::uint64_t right = bits_of(v[1] > v[0]), low_right = bits_of(v[3] > v[2]);
        const std::uint64_t low = bits_of(O::max(v[2], v[3]) > top);
        bits[0] = (low & low_right) | (~low & right); // first maximum 1 or 3
        bits[1] = low;                                // first maximum 2 or 3
    } else {
        const auto planes = first_max_planes<P>(v, best);
        for (std::size_t q = 0; q < P; ++q)
            bits[q] = bits_of(planes[q]);
    }
    return bits;
}

/// Whether any op of the chain can record a code.
template <class Tuple>
struct chain_has_codes;
template <class... Ops>
struct chain_has_codes<std::tuple<Ops...>> {
    static constexpr bool value = (op_has_codes<Ops> || ...);
};

} // namespace maso::run
