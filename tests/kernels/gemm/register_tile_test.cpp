// Tests of include/maso/kernels/gemm/register_tile.hpp: tiles to and from memory, whole
// and sticking out of C, and the callback an epilogue is reached through.
#include <maso/kernels/gemm/register_tile.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

#include <vector>

namespace mk = maso::kernels;
using maso_test::test_arch;

namespace {
constexpr std::size_t MR = 3, NV = 2;
using batch = xsimd::batch<float, test_arch>;
constexpr std::size_t W = batch::size, NR = NV * W;

void fill(batch (&acc)[MR][NV]) {
    alignas(64) float row[W];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v) {
            for (std::size_t l = 0; l < W; ++l)
                row[l] = float(100 * i + v * W + l);
            acc[i][v] = batch::load_aligned(row);
        }
}
} // namespace

BOOST_AUTO_TEST_SUITE(register_tile)

BOOST_AUTO_TEST_CASE(store_and_add_only_inside_c) {
    const std::size_t ldc = NR + 3;
    for (const std::size_t m : {MR, MR - 1, std::size_t{1}})
        for (const std::size_t n : {NR, NR - 1, std::size_t{1}}) {
            std::vector<float> c(MR * ldc, -1.f);
            batch acc[MR][NV];
            fill(acc);
            mk::store_tile<test_arch>(acc, c.data(), ldc, m, n);
            for (std::size_t i = 0; i < MR; ++i)
                for (std::size_t j = 0; j < ldc; ++j)
                    BOOST_CHECK_EQUAL(c[i * ldc + j], i < m && j < n ? float(100 * i + j) : -1.f);
            // add: acc + C inside, the outside of C read as nothing
            mk::add_tile<test_arch>(acc, c.data(), ldc, m, n);
            mk::store_tile<test_arch>(acc, c.data(), ldc, MR, NR);
            for (std::size_t i = 0; i < MR; ++i)
                for (std::size_t j = 0; j < NR; ++j)
                    BOOST_CHECK_EQUAL(c[i * ldc + j],
                                      float((i < m && j < n ? 2 : 1) * (100 * i + j)));
        }
}

BOOST_AUTO_TEST_CASE(a_callback_reaches_its_epilogue_with_the_tile) {
    struct epilogue {
        float seen = 0;
        std::size_t calls = 0, i0 = 0, j0 = 0, m = 0, n = 0;
        void operator()(batch (&acc)[MR][NV], std::size_t a, std::size_t b, std::size_t c,
                        std::size_t d) {
            seen = acc[2][1].get(1);
            ++calls, i0 = a, j0 = b, m = c, n = d;
        }
    } e;
    const auto cb = mk::tile_callback<test_arch, float, MR, NV>::of(e);
    batch acc[MR][NV];
    fill(acc);
    cb.fn(cb.self, acc, 6, 64, 2, 5);
    BOOST_CHECK_EQUAL(e.calls, 1u);
    BOOST_CHECK_EQUAL(e.seen, float(200 + W + 1));
    BOOST_CHECK(e.i0 == 6 && e.j0 == 64 && e.m == 2 && e.n == 5);
}

BOOST_AUTO_TEST_SUITE_END()
