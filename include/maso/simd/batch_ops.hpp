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

/// Constants of fast_exp. e^x = 2^k e^r with k = round(x / ln 2) and
/// r = x − k ln 2 in [−ln2/2, ln2/2]; ln 2 is split Cody–Waite style so that k ln2_hi
/// is exact even without FMA (SSE2) and r carries no cancellation error. e^r is
/// 1 + r(1 + r(c_2 + c_3 r + …)), the c_i a relative-error minimax fit on
/// [−ln2/2, ln2/2] (Remez, 60 digits). Keeping 1 + r exact is what makes e^x
/// correctly rounded near x = 0, where σ(u) feeds passes that cancel (|·| and tanh:
/// c_0 + Δσ(u) with c_0 = −Δ/2) and the SIMD result must round as std::exp does.
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
    /// Shift path: round(x log2e) is −127 at the low end, so the exponent field is 0
    /// and e^x is exactly 0 (below 2^−126.5 ≈ 0.7 FLT_MIN: flushed, no denormals);
    /// it is 128 at the high end, so the field is all ones and e^x = +∞ (from
    /// x ≈ 88.38 rather than 88.72: the last half binade overflows early).
    static constexpr float low_shift = -88.0f, high_shift = 88.5f;
    /// vscalef path: e^±110 is far beyond the float range, and vscalef rounds to 0,
    /// denormals or ∞ exactly as std::exp does.
    static constexpr float bound_scalef = 110.0f;
    /// Degree 6 in all: the fit is within 3.1e-9 (0.05 ulp); degree 5 (1.1e-7)
    /// would misround too often for the cancelling passes.
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
    /// As for float: 0 below 2^−1022.5, +∞ from x ≈ 709.44 (rather than 709.78).
    static constexpr double low_shift = -709.0, high_shift = 709.9;
    static constexpr double bound_scalef = 760.0;
    /// Degree 11 in all: the fit is within 3.7e-18 (0.03 ulp).
    static constexpr std::size_t degree = 11;
    static constexpr double c[] = {0.5000000000000011,     0.1666666666666641,
                                   0.04166666666652921,    0.008333333333495598,
                                   0.0013888888943915092,  0.00019841269504804096,
                                   2.4801492771463396e-05, 2.7557587324996475e-06,
                                   2.763037526266667e-07,  2.4999965207409352e-08};
};

template <class A>
inline constexpr bool is_avx512 = std::is_base_of_v<xsimd::avx512f, A>;
template <class A>
inline constexpr bool is_avx512dq = std::is_base_of_v<xsimd::avx512dq, A>;

/// a·b + c with one rounding. xsimd 8.1 has no AVX-512 fma: its generic x*y + z is
/// fused by GCC's default -ffp-contract=fast but not by clang, which would leave
/// the accuracy of fast_exp to the compiler.
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

/// x clamped to [−c, c]: one vrangeps (smaller magnitude, sign of x: imm 0b0010) on
/// AVX-512DQ instead of a max and a min, which share one pipe pair on Zen 4.
template <class T, class A>
MASO_ALWAYS_INLINE xsimd::batch<T, A> clamp_symmetric(xsimd::batch<T, A> x, T c) noexcept {
    if constexpr (is_avx512dq<A> && std::is_same_v<T, float>)
        return _mm512_range_ps(x, _mm512_set1_ps(c), 0x02);
    else if constexpr (is_avx512dq<A>)
        return _mm512_range_pd(x, _mm512_set1_pd(c), 0x02);
    else
        return xsimd::min(xsimd::max(x, xsimd::batch<T, A>(-c)), xsimd::batch<T, A>(c));
}

} // namespace detail

/// a·b + c with one rounding on every ISA (detail::fmadd): the GEMM's micro-kernel and the
/// epilogues use it as the exp does.
using detail::fmadd;

template <class T, class A>
struct ops<xsimd::batch<T, A>> {
    using batch = xsimd::batch<T, A>;
    using value_type = T;
    using mask_type = typename batch::batch_bool_type;
    MASO_ALWAYS_INLINE static batch broadcast(T x) noexcept { return batch(x); }
    MASO_ALWAYS_INLINE static batch exp(batch x) noexcept { return xsimd::exp(x); }

    /// e^x without xsimd::exp's special-case checks (NaN in, unspecified out).
    /// Measured against the correctly rounded e^x on every float in [−104, 89]:
    /// ≤ 1 ulp, and equal to glibc's std::exp in 99.5% of the cases (99.2% on SSE2,
    /// which has no FMA). Double: ≤ 1 ulp on 2·10⁷ random x, 3–10% of them 1 ulp off.
    /// tests/simd/batch_ops_test.cpp checks both on samples. Underflow gives exactly
    /// 0 and overflow +∞: with AVX-512 (vscalef) at the thresholds of std::exp,
    /// denormals included; elsewhere denormal results flush to 0 and the last half
    /// binade below the float/double maximum overflows (exp_constants).
    MASO_ALWAYS_INLINE static batch fast_exp(batch x) noexcept {
        using C = detail::exp_constants<T>;
        constexpr bool scalef = detail::is_avx512<A>;
        // The clamp keeps k in range and r finite for x = ±∞ or ±1e30.
        if constexpr (scalef)
            x = detail::clamp_symmetric(x, C::bound_scalef);
        else
            x = xsimd::min(xsimd::max(x, batch(C::low_shift)), batch(C::high_shift));
        const batch t = detail::fmadd(x, batch(C::log2e), batch(C::shifter));
        const batch k = t - batch(C::shifter);
        // Negated constants rather than fnma, which xsimd 8.1 lacks on AVX-512.
        batch r = detail::fmadd(k, batch(-C::ln2_hi), x);
        r = detail::fmadd(k, batch(-C::ln2_lo), r);
        constexpr std::size_t nc = C::degree - 1;
        batch p(C::c[nc - 1]);
        for (std::size_t i = nc - 1; i-- > 0;)
            p = detail::fmadd(p, r, batch(C::c[i]));
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

    /// 1/x, as a division on every arch. On Zen 4 (AVX-512) the β-VQ passes ran
    /// 13–17% slower with vrcp14ps and two Newton–Raphson steps: vdivps has a unit of
    /// its own, while the steps take the FMA pipes the loop is bound by. One step is
    /// not enough: it misrounds 0.3% of [1, 2] (AVX2's vrcpps: 11%), and the passes
    /// that cancel (|·| and tanh at z = ±1e-6) then fail SIMD == scalar.
    MASO_ALWAYS_INLINE static batch reciprocal(batch x) noexcept { return batch(T(1)) / x; }

    MASO_ALWAYS_INLINE static batch clamp(batch x, T c) noexcept {
        return detail::clamp_symmetric(x, c);
    }
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
