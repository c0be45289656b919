// Tests of include/maso/kernels/gemm/concepts.hpp and of the models the kernels provide.
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/implicit_conv.hpp>

#include <maso_test/isa.hpp>

#include <boost/test/unit_test.hpp>

namespace mk = maso::kernels;
using maso_test::test_arch;

BOOST_AUTO_TEST_SUITE(concepts)

BOOST_AUTO_TEST_CASE(operands_readers_and_epilogues_model_their_concepts) {
    using B = mk::gemm_blocking<test_arch, float>;
    static_assert(mk::b_source<mk::matrix_b<float>, test_arch, float>);
    static_assert(!mk::in_place_source<mk::matrix_b<float>, test_arch, float>);
    static_assert(mk::in_place_source<mk::patch_rows<float, B::NC>, test_arch, float>);
    static_assert(mk::in_place_source<mk::patch_rows<float, B::NC, 2>, test_arch, float>);
    static_assert(mk::b_source<mk::patch_columns<float, B::KC>, test_arch, float>);
    static_assert(
        mk::panel_reader<mk::detail::packed_panel<test_arch, B, float>, test_arch, float>);
    static_assert(
        mk::panel_reader<mk::detail::patch_reader<test_arch, B, float>, test_arch, float>);
    static_assert(mk::tile_epilogue<mk::patch_scatter<float>, test_arch, float>);
    static_assert(!mk::tile_epilogue<int, test_arch, float>);
    static_assert(!mk::b_source<int, test_arch, float>);
    BOOST_CHECK(true); // the checks are the static_asserts above
}

BOOST_AUTO_TEST_SUITE_END()
