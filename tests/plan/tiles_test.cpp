// Tests of include/maso/plan/tiles.hpp, built once per ISA: what the register tiles hold,
// against a table written out by hand from the tile sizes of each ISA and value type —
// NR columns (4 or 2 SIMD batches) and MR = 6 rows — rather than from the rule in the
// header, so that a change of rule or of blocking shows here.
#include <maso/maso.hpp>

#include <maso_test/isa.hpp>

#include <cstddef>
#include <string>
#include <type_traits>

using namespace maso;
using maso_test::test_arch;

namespace {

/// One row of the table: an ISA and a value type, the tile's columns and what fits.
struct row {
    const char* isa;
    bool is_float;
    std::size_t nr;
    bool pool_2x2, pool_3x3, pool_4x4;
};

// 2×2 windows (4 members) divide every NR; 3×3 (9) none; 4×4 (16) AVX-512's 64 and 32
// and AVX2's 16 floats, not AVX2's 8 doubles nor SSE2's 8 floats and 4 doubles.
constexpr row table[] = {
    {"avx512", true, 64, true, false, true}, {"avx512", false, 32, true, false, true},
    {"avx2", true, 16, true, false, true},   {"avx2", false, 8, true, false, false},
    {"sse2", true, 8, true, false, false},   {"sse2", false, 4, true, false, false},
};

constexpr const char* isa_name() {
    if constexpr (std::is_base_of_v<xsimd::avx512f, test_arch>)
        return "avx512";
    else if constexpr (std::is_base_of_v<xsimd::avx2, test_arch>)
        return "avx2";
    else
        return "sse2";
}

template <class T>
const row& row_of() {
    for (const row& r : table)
        if (std::string(r.isa) == isa_name() && r.is_float == std::is_same_v<T, float>) return r;
    throw std::logic_error("no row for this ISA");
}

template <class T, class Net>
plan::tile_plan first_group(const Net&) {
    return plan::tiles<Net, fuse::all_t, 0, T, test_arch>();
}

template <class T>
void check_pooling() {
    const row& r = row_of<T>();
    BOOST_TEST((kernels::gemm_blocking<test_arch, T>::NR == r.nr));
    const auto conv = input<4, 12, 12>() >> conv2d<8, 3>() >> beta_vq<relu>(0.5f);
    const auto p2 = first_group<T>(conv >> maxpool<2>());
    const auto p3 = first_group<T>(conv >> avgpool<3>());
    const auto p4 = first_group<T>(conv >> softpool<4>(0.5f));
    BOOST_TEST(p2.window == r.pool_2x2);
    BOOST_TEST(p3.window == r.pool_3x3);
    BOOST_TEST(p4.window == r.pool_4x4);
    // The chain runs on the tiles exactly when its window does (else both run plane by plane).
    BOOST_TEST(p2.chain == p2.window);
    BOOST_TEST(p3.chain == p3.window);
    BOOST_TEST(p4.chain == p4.window);
    BOOST_TEST(!p2.statistics);
}

} // namespace

BOOST_AUTO_TEST_CASE(pooling_windows_by_isa_and_type) {
    check_pooling<float>();
    check_pooling<double>();
}

BOOST_AUTO_TEST_CASE(channel_windows_divide_six_rows) {
    BOOST_TEST((kernels::gemm_blocking<test_arch, float>::MR == 6u));
    const auto conv = input<4, 6, 6>() >> conv2d<12, 3>() >> beta_vq<relu>(0.5f);
    const auto m2 = first_group<float>(conv >> maxout<2>());
    const auto m3 = first_group<float>(conv >> maxout<3>());
    const auto m4 = first_group<float>(conv >> maxout<4>());
    const auto m6 = first_group<float>(conv >> maxout<6>());
    BOOST_TEST((m2.window && m3.window && m6.window));
    BOOST_TEST(!m4.window);
    BOOST_TEST(!m4.chain);
}

BOOST_AUTO_TEST_CASE(batch_norm_in_training_gathers_statistics) {
    const auto bn = input<4, 8, 8>() >> conv2d<8, 3>() >> batch_norm() >> beta_vq<relu>(0.5f);
    const auto t = first_group<float>(bn);
    BOOST_TEST(t.chain);      // evaluation: the running statistics' apply joins the tiles
    BOOST_TEST(t.statistics); // training: the tiles store z and gather the statistics
    const auto pooled = bn >> maxpool<2>();
    BOOST_TEST(first_group<float>(pooled).window);
}

BOOST_AUTO_TEST_CASE(what_stays_off_the_tiles) {
    // A vector's units alone: one pass over z after the product.
    const auto mlp = input<16>() >> dense<8>() >> beta_vq<relu>(0.5f);
    const auto a = first_group<float>(mlp);
    BOOST_TEST(!a.chain);
    // A lone convolution without a bias: nothing for the tiles to do.
    const auto bare = input<4, 8, 8>() >> conv2d<8, 3, 1, padding::same, false>();
    const auto b = first_group<float>(bare);
    BOOST_TEST((!b.chain && !b.window && !b.statistics));
    // With its bias, the bias runs on the tiles.
    const auto biased = input<4, 8, 8>() >> conv2d<8, 3>();
    BOOST_TEST(first_group<float>(biased).chain);
}
