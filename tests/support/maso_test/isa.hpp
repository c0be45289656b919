// maso_test/isa.hpp — for tests built once per ISA (maso_isa_test in CMake).
//
// test_arch is the widest xsimd arch the compile flags allow (MASO_ISA_FLAGS_* in
// cmake/MasoTargets.cmake) and MASO_TEST_CPU the cpuid feature it needs; on a CPU without it
// the test exits 77, which ctest reports as skipped rather than crashing on an illegal
// instruction. Read from the compiler's macros rather than passed as -D, so that the
// tests of one ISA share one precompiled header.
#pragma once

#include <maso/simd/batch_loop.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>

namespace maso_test {

#if defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
using test_arch = xsimd::avx512bw;
#define MASO_TEST_CPU "avx512bw" // a literal: __builtin_cpu_supports takes no variable
#elif defined(__AVX2__) && defined(__FMA__)
using test_arch = xsimd::fma3<xsimd::avx2>;
#define MASO_TEST_CPU "avx2" // a literal: __builtin_cpu_supports takes no variable
#else
using test_arch = xsimd::sse2;
#define MASO_TEST_CPU "sse2" // a literal: __builtin_cpu_supports takes no variable
#endif

struct require_isa {
    require_isa() {
        if (!__builtin_cpu_supports(MASO_TEST_CPU)) {
            std::printf("skipped: this CPU lacks %s\n", MASO_TEST_CPU);
            std::exit(77);
        }
    }
};

} // namespace maso_test

using maso_test_require_isa = maso_test::require_isa;
BOOST_TEST_GLOBAL_FIXTURE(maso_test_require_isa);
