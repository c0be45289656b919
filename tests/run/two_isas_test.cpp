// Tests that a program's instruction set is part of its type (run/program.hpp): two
// translation units built for AVX2 and AVX-512 (tests/run/two_isas/) instantiate the same
// network, fused, and are linked into this executable, which is built for neither. Were the
// kernels shared symbols, the linker would keep one copy of each for both units — the
// AVX-512 code called from the AVX2 side, or the reverse. Their model types must differ,
// name their ISA, and give the same results to float rounding.
#include <boost/test/unit_test.hpp>

#include "two_isas/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace {

void expect_close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    BOOST_TEST_CONTEXT(what) {
        BOOST_REQUIRE_EQUAL(a.size(), b.size());
        BOOST_REQUIRE(!a.empty());
        float scale = 0;
        for (const float v : b)
            scale = std::max(scale, std::fabs(v));
        BOOST_REQUIRE_GT(scale, 0.f);
        for (std::size_t i = 0; i < a.size(); ++i)
            BOOST_TEST_CONTEXT("entry " << i)
        BOOST_TEST(std::fabs(a[i] - b[i]) <= 1e-4f * scale + 1e-5f * std::fabs(b[i]));
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(two_instruction_sets_in_one_binary) {
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx2")) {
        std::printf("skipped: this CPU lacks AVX-512 or AVX2\n");
        std::exit(77);
    }
    const two_isas::result narrow = two_isas::run_narrow(), wide = two_isas::run_wide();
    BOOST_TEST(narrow.model_type != wide.model_type);
    BOOST_TEST(narrow.model_type.find("avx512") == std::string::npos);
    BOOST_TEST(wide.model_type.find("avx512") != std::string::npos);
    expect_close(narrow.output, wide.output, "output");
    expect_close(narrow.gradients, wide.gradients, "parameter gradients");
    expect_close(narrow.input_gradient, wide.input_gradient, "input gradient");
}
