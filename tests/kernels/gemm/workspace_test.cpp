// Tests of include/maso/kernels/gemm/workspace.hpp.
#include <maso/kernels/gemm/workspace.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>

namespace mk = maso::kernels;
using maso_test::test_arch;

BOOST_AUTO_TEST_SUITE(workspace)

BOOST_AUTO_TEST_CASE(the_buffer_is_aligned_and_only_grows) {
    mk::detail::gemm_workspace<test_arch, float> w;
    float* a = w.get(100);
    BOOST_CHECK_EQUAL(reinterpret_cast<std::uintptr_t>(a) % 64, 0u);
    BOOST_CHECK(w.get(50) == a); // smaller: the same buffer
    float* b = w.get(1 << 16);
    BOOST_CHECK_EQUAL(reinterpret_cast<std::uintptr_t>(b) % 64, 0u);
    b[(1 << 16) - 1] = 1.f; // the whole of it is ours
    BOOST_CHECK(w.get(1 << 15) == b);
}

BOOST_AUTO_TEST_CASE(reserved_workspaces_are_the_largest_any_product_asks) {
    using B = mk::gemm_blocking<test_arch, double>;
    mk::reserve_workspace<test_arch, double>();
    auto& w = mk::detail::thread_workspace<test_arch, double>();
    double* p = w.get(B::KC * B::NC + B::MC * B::KC);
    BOOST_CHECK(w.get(1) == p);
}

BOOST_AUTO_TEST_SUITE_END()
