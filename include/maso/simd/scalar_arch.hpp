// maso/simd/scalar_arch.hpp — the arch tag of the plain scalar reference.
//
// Every kernel takes its instruction set as a tag: an xsimd arch (avx512bw,
// fma3<avx2>, sse2, …) or this one, which runs the same body on one element at
// a time with <cmath> and no xsimd at all. The scalar instantiation is the
// oracle the SIMD ones are tested against.
#pragma once

namespace maso::simd {

struct scalar_arch {
    static constexpr const char* name() noexcept { return "scalar"; }
};

} // namespace maso::simd
