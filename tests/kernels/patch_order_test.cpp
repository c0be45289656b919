// Tests of include/maso/kernels/patch_order.hpp.
#include <maso/kernels/patch_order.hpp>

#include <boost/test/unit_test.hpp>

using maso::kernels::conv_geometry;
using maso::kernels::patch_order;

BOOST_AUTO_TEST_CASE(natural_order_has_a_column_per_output_pixel) {
    constexpr patch_order o = patch_order::natural();
    static_assert(o.is_natural() && !patch_order::windows(2, 16).is_natural());
    for (const conv_geometry g :
         {conv_geometry{3, 2, 5, 7, 3, 1, 1}, conv_geometry{1, 5, 8, 8, 3, 2, 1},
          conv_geometry{4, 1, 9, 6, 1, 1, 0}})
        BOOST_TEST(o.columns(g) == g.batch * g.out_height() * g.out_width());
}

BOOST_AUTO_TEST_CASE(window_order_rounds_the_windows_up_to_whole_groups) {
    // 2 images of 6×10 (3 same): 3×5 windows of 2×2 each, 30 in all; groups of
    // L = 16 windows need 2 groups, 32 windows, 4 columns each.
    const conv_geometry g{3, 2, 6, 10, 3, 1, 1};
    const patch_order o = patch_order::windows(2, 16);
    BOOST_TEST(o.windows_of(g) == 30u);
    BOOST_TEST(o.columns(g) == 2u * 16u * 4u);
    // An odd map drops its last row and column: 7×7 → 3×3 windows per image.
    const conv_geometry odd{1, 3, 7, 7, 3, 1, 1};
    BOOST_TEST(o.windows_of(odd) == 27u);
    BOOST_TEST(o.columns(odd) == 2u * 16u * 4u);
    // A whole number of groups needs no padding columns: L = 4 windows of 4×4.
    const conv_geometry whole{2, 1, 16, 16, 3, 1, 1};
    BOOST_TEST(patch_order::windows(4, 4).windows_of(whole) == 16u);
    BOOST_TEST(patch_order::windows(4, 4).columns(whole) == 16u * 16u);
}

BOOST_AUTO_TEST_CASE(window_order_counts_every_pixel_it_covers_once) {
    // Without padding groups, the columns are exactly the pixels of whole windows.
    for (std::size_t k : {2u, 3u, 4u})
        for (std::size_t h = k; h <= 13; ++h) {
            const conv_geometry g{1, 2, h, h + 3, 3, 1, 1};
            const patch_order o = patch_order::windows(k, 1);
            BOOST_TEST(o.columns(g) == 2 * (h / k * k) * ((h + 3) / k * k));
        }
}
