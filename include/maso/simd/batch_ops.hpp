// maso/simd/batch_ops.hpp — ops<V> for xsimd batches (see simd/ops.hpp).
#pragma once

#include <maso/simd/ops.hpp>

#include <cstddef>
#include <type_traits>

// GCC 12's AVX-512 intrinsics self-initialise their undefined operands
// (`__m512 __Y = __Y;`), which -Wuninitialized reports once xsimd inlines them
// (GCC PR105593, fixed in GCC 13). The pragma is scoped to xsimd's headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace maso::simd {

namespace detail {

/// Constants of exp_nonpositive. e^x = 2^k e^r with k = round(x / ln 2) and
/// r = x − k ln 2 in [−ln2/2, ln2/2]; ln 2 is split Cody–Waite style so that k ln2_hi
/// is exact even without FMA (SSE2) and r carries no cancellation error. e^r is
/// 1 + r + r²(c_2 + c_3 r + …), the c_i a relative-error minimax fit on
/// [−ln2/2, ln2/2] (Remez, 60 digits). Keeping the leading 1 + r exact is what makes
/// e^x correctly rounded for small |x|, where σ(u) feeds tanh-like passes that
/// cancel (c_0 + Δσ(u) with c_0 = −Δ/2) and SIMD must round like std::exp.
template <class T>
struct exp_constants;

template <>
struct exp_constants<float> {
    static constexpr float log2e = 1.44269504088896341f;
    static constexpr float ln2_hi = 0.693359375f; // 9 significant bits
    static constexpr float ln2_lo = -2.12194440e-4f;
    /// Adding it rounds to an integer in the low mantissa bits, biased for the exponent.
    static constexpr float shifter = 0x1.8p23f + 127;
    static constexpr int mantissa_bits = 23;
    /// Shift path: round(x log2e) = −127 here, so the exponent field built from it
    /// is 0 and e^x is exactly 0 below 2^−126.5 (≈ 0.7 FLT_MIN): flush, no denormals.
    static constexpr float lowest_shift = -88.0f;
    /// AVX-512 vscalef path: far enough below e^x < 2^−150 that the result rounds to 0.
    static constexpr float lowest_scalef = -110.0f;
    /// Degree 6 in all: max relative error of the fit 3.1e-9 (0.05 ulp).
    static constexpr std::size_t degree = 6;
    static constexpr float c[] = {4.999999404e-01f, 1.666651964e-01f, 4.166839272e-02f,
                                  8.368778974e-03f, 1.381447073e-03f};
};

template <>
struct exp_constants<double> {
    static constexpr double log2e = 1.44269504088896340736;
    static constexpr double ln2_hi = 6.93145751953125e-1; // 21 significant bits
    static constexpr double ln2_lo = 1.42860682030941723212e-6;
    static constexpr double shifter = 0x1.8p52 + 1023;
    static constexpr int mantissa_bits = 52;
    static constexpr double lowest_shift = -709.0;   // exponent field 0 below 2^−1022.5
    static constexpr double lowest_scalef = -760.0; // e^x < 2^−1096 rounds to 0
    /// Degree 11 in all: max relative error of the fit 3.7e-18 (0.03 ulp).
    static constexpr std::size_t degree = 11;
    static constexpr double c[] = {0.5000000000000011,     0.1666666666666641,
                                   0.04166666666652921,    0.008333333333495598,
                                   0.0013888888943915092,  0.00019841269504804096,
                                   2.4801492771463396e-05, 2.7557587324996475e-06,
                                   2.763037526266667e-07,  2.4999965207409352e-08};
};

template <class A>
inline constexpr bool is_avx512 = std::is_base_of_v<xsimd::avx512f, A>;

/// a·b + c with one rounding. xsimd 8.1 has no AVX-512 fma: its generic x*y + z is
/// fused by GCC's default -ffp-contract=fast but not by clang, which would make the
/// Newton–Raphson step below (and Cody–Waite) compiler-dependent.
template <class T, class A>
MASO_ALWAYS_INLINE xsimd::batch<T, A> fmadd(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                            xsimd::batch<T, A> c) noexcept {
    if constexpr (is_avx512<A> && std::is_same_v<T, float>)
        return _mm512_fmadd_ps(a, b, c);
    else if constexpr (is_avx512<A>)
        return _mm512_fmadd_pd(a, b, c);
    else
        return xsimd::fma(a, b, c);
}

/// c − a·b with one rounding (xsimd::fnma on AVX-512 is a negation and an fma).
template <class T, class A>
MASO_ALWAYS_INLINE xsimd::batch<T, A> fnmadd(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                             xsimd::batch<T, A> c) noexcept {
    if constexpr (is_avx512<A> && std::is_same_v<T, float>)
        return _mm512_fnmadd_ps(a, b, c);
    else if constexpr (is_avx512<A>)
        return _mm512_fnmadd_pd(a, b, c);
    else
        return xsimd::fnma(a, b, c);
}

/// Archs whose xsimd::reciprocal is a hardware estimate and whose xsimd::fma is fused:
/// without a fused multiply-add the Newton–Raphson residual 1 − x·y rounds away
/// the very bits it is meant to recover.
template <class A>
inline constexpr bool has_fast_reciprocal =
    is_avx512<A> || std::is_base_of_v<xsimd::fma3<xsimd::avx2>, A> ||
    std::is_base_of_v<xsimd::fma3<xsimd::avx>, A> ||
    std::is_base_of_v<xsimd::fma3<xsimd::sse4_2>, A>;

} // namespace detail

template <class T, class A>
struct ops<xsimd::batch<T, A>> {
    using batch = xsimd::batch<T, A>;
    using value_type = T;
    using mask_type = typename batch::batch_bool_type;
    MASO_ALWAYS_INLINE static batch broadcast(T x) noexcept { return batch(x); }
    MASO_ALWAYS_INLINE static batch exp(batch x) noexcept { return xsimd::exp(x); }

    /// e^x for x ≤ 0 (−∞ included), without xsimd::exp's overflow and NaN checks.
    /// Measured against std::exp over every float in [−104, 0] (tests/simd/
    /// batch_ops_test.cpp checks a sample): ≤ 1 ulp, correctly rounded in 99.5% of
    /// the cases and always for |x| < 2^−8; double ≤ 1 ulp on a 10⁷ sample.
    /// Results below the smallest normal (0.7 FLT_MIN / DBL_MIN) flush to 0,
    /// except with AVX-512, whose vscalef rounds them to denormals as std::exp does;
    /// either way e^x for x ≪ 0 is exactly 0, so σ(−|u|) is. Positive x up to
    /// ≈ 88 (float) still work but are outside the contract.
    MASO_ALWAYS_INLINE static batch exp_nonpositive(batch x) noexcept {
        using C = detail::exp_constants<T>;
        constexpr bool scalef = detail::is_avx512<A>;
        // The clamp keeps k in range and r finite for x = −∞ or −1e30.
        x = xsimd::max(x, batch(scalef ? C::lowest_scalef : C::lowest_shift));
        const batch t = detail::fmadd(x, batch(C::log2e), batch(C::shifter));
        const batch k = t - batch(C::shifter);
        // Negated constants rather than fnma, which xsimd 8.1 lacks on AVX-512.
        batch r = detail::fmadd(k, batch(-C::ln2_hi), x);
        r = detail::fmadd(k, batch(-C::ln2_lo), r);
        constexpr std::size_t nc = C::degree - 1;
        batch p(C::c[nc - 1]);
        for (std::size_t i = nc - 1; i-- > 0;)
            p = detail::fmadd(p, r, batch(C::c[i]));
        // Horner down to 1 + r(1 + r q): one rounding in the last step.
        p = detail::fmadd(p, r, batch(T(1)));
        p = detail::fmadd(p, r, batch(T(1)));
        if constexpr (scalef) {
            if constexpr (std::is_same_v<T, float>)
                return _mm512_scalef_ps(p, k);
            else
                return _mm512_scalef_pd(p, k);
        } else {
            using int_batch = xsimd::batch<xsimd::as_integer_t<T>, A>;
            const int_batch bits = xsimd::bitwise_cast<int_batch>(t) << C::mantissa_bits;
            return p * xsimd::bitwise_cast<batch>(bits);
        }
    }

    /// 1/x. For float on AVX-512 (14-bit estimate) and FMA archs (12-bit) one
    /// Newton–Raphson step; measured on every float in [1, 2]: AVX-512 ≤ 1 ulp,
    /// correctly rounded in 99% of the cases; AVX2 ≤ 2 ulp. Elsewhere a division.
    /// Contract: x normal and |x| < 2^126 (the estimate of a huge x is 0 and the
    /// step would give NaN); the β-VQ passes call it on 1 + e^{−|u|} ∈ [1, 2].
    MASO_ALWAYS_INLINE static batch reciprocal(batch x) noexcept {
#ifndef MASO_RECIP_NR
#define MASO_RECIP_NR 2
#endif
        if constexpr (MASO_RECIP_NR > 0 && std::is_same_v<T, float> &&
                      detail::has_fast_reciprocal<A>) {
            batch y = xsimd::reciprocal(x);
            for (int i = 0; i < MASO_RECIP_NR; ++i)
                y = detail::fmadd(y, detail::fnmadd(x, y, batch(T(1))), y);
            return y;
        } else {
            return batch(T(1)) / x;
        }
    }

    /// −|x| in one instruction: the sign bit set.
    MASO_ALWAYS_INLINE static batch neg_abs(batch x) noexcept { return x | batch(T(-0.0)); }
    MASO_ALWAYS_INLINE static batch abs(batch x) noexcept { return xsimd::abs(x); }
    MASO_ALWAYS_INLINE static batch min(batch a, batch b) noexcept { return xsimd::min(a, b); }
    MASO_ALWAYS_INLINE static batch max(batch a, batch b) noexcept { return xsimd::max(a, b); }
    MASO_ALWAYS_INLINE static batch fma(batch a, batch b, batch c) noexcept {
        return detail::fmadd(a, b, c);
    }
    MASO_ALWAYS_INLINE static batch select(mask_type m, batch a, batch b) noexcept {
        return xsimd::select(m, a, b);
    }
    MASO_ALWAYS_INLINE static T reduce_add(batch x) noexcept { return xsimd::hadd(x); }
};

} // namespace maso::simd
