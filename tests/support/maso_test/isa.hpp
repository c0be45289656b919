// maso_test/isa.hpp — for tests built once per ISA (maso_isa_test in CMake).
//
// MASO_TEST_ARCH is the xsimd arch the executable was compiled for and
// MASO_TEST_CPU the cpuid feature it needs; on a CPU without it the test exits
// 77, which ctest reports as skipped rather than crashing on an illegal instruction.
#pragma once

#include <maso/simd/batch_loop.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>

namespace maso_test {

using test_arch = MASO_TEST_ARCH;

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
