// Tests of include/maso/kernels/gemm/micro_kernel.hpp: one tile of C from an A panel in
// either layout and a packed B panel, stored, added to, or handed to an epilogue.
#include <maso/kernels/gemm/micro_kernel.hpp>
#include <maso/kernels/gemm/workspace.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <vector>

namespace mk = maso::kernels;
using maso_test::test_arch;

BOOST_AUTO_TEST_SUITE(micro_kernel)

BOOST_AUTO_TEST_CASE(a_tile_is_the_sum_over_k) {
    using B = mk::gemm_blocking<test_arch, double>;
    constexpr std::size_t MR = B::MR, NR = B::NR;
    using batch = xsimd::batch<double, test_arch>;
    const std::size_t kc = 13, ldc = NR + 2;
    const auto a = maso_test::uniform_vector<double>(MR * kc, -1, 1); // rows: a[i·kc + k]
    std::vector<double> ai(MR * kc);                                  // interleaved: k·MR + i
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t k = 0; k < kc; ++k)
            ai[k * MR + i] = a[i * kc + k];
    mk::detail::gemm_workspace<test_arch, double> w;
    double* panel = w.get(kc * NR);
    const auto b = maso_test::uniform_vector<double>(kc * NR, -1, 1);
    std::copy(b.begin(), b.end(), panel);
    const auto c0 = maso_test::uniform_vector<double>(MR * ldc, -1, 1);
    for (const bool interleaved : {false, true})
        for (const bool add : {false, true})
            for (const std::size_t m : {MR, MR - 2})
                for (const std::size_t n : {NR, NR - 3}) {
                    std::vector<double> c = c0;
                    const double* ap = interleaved ? ai.data() : a.data();
                    mk::detail::micro_kernel<test_arch, B>(
                        kc, ap, interleaved ? 1 : kc, interleaved ? MR : 1,
                        mk::detail::packed_panel<test_arch, B, double>{panel}, c.data(), ldc, m, n,
                        add, static_cast<mk::no_epilogue*>(nullptr), 0, 0);
                    for (std::size_t i = 0; i < MR; ++i)
                        for (std::size_t j = 0; j < ldc; ++j) {
                            double want = c0[i * ldc + j];
                            if (i < m && j < n) {
                                double s = add ? want : 0;
                                for (std::size_t k = 0; k < kc; ++k)
                                    s += a[i * kc + k] * b[k * NR + j];
                                want = s;
                            }
                            MASO_CHECK_CLOSE(c[i * ldc + j], want, 1e-14, 10);
                        }
                }
    // An epilogue gets the tile instead of C.
    struct keep {
        double first = 0;
        std::size_t calls = 0;
        void operator()(batch (&acc)[MR][B::NV], std::size_t, std::size_t, std::size_t,
                        std::size_t) {
            first = acc[0][0].get(0);
            ++calls;
        }
    } e;
    auto cb = mk::tile_callback<test_arch, double, MR, B::NV>::of(e);
    std::vector<double> c = c0;
    mk::detail::micro_kernel<test_arch, B>(kc, a.data(), kc, 1,
                                           mk::detail::packed_panel<test_arch, B, double>{panel},
                                           c.data(), ldc, MR, NR, false, &cb, 0, 0);
    double s = 0;
    for (std::size_t k = 0; k < kc; ++k)
        s += a[k] * b[k * NR];
    BOOST_CHECK_EQUAL(e.calls, 1u);
    MASO_CHECK_CLOSE(e.first, s, 1e-14, 10);
    BOOST_TEST(c == c0, boost::test_tools::per_element()); // C untouched
}

BOOST_AUTO_TEST_SUITE_END()
