// Tests of include/maso/kernels/conv_geometry.hpp.
#include <maso/kernels/conv_geometry.hpp>

#include <boost/test/unit_test.hpp>

using maso::kernels::conv_geometry;

/// The output extent by counting: the window starts s·i − P, i = 0, 1, …, whose K
/// taps all fall in [−P, n + P).
std::size_t counted_extent(std::size_t n, std::size_t k, std::size_t s, std::size_t p) {
    std::size_t count = 0;
    for (std::size_t start = 0; start + k <= n + 2 * p; start += s)
        ++count;
    return count;
}

BOOST_AUTO_TEST_CASE(extents_count_the_windows_that_fit) {
    for (std::size_t n = 1; n <= 12; ++n)
        for (std::size_t k = 1; k <= 5; ++k)
            for (std::size_t s = 1; s <= 3; ++s)
                for (std::size_t p = 0; p <= k / 2; ++p) {
                    if (n + 2 * p < k) continue;
                    const conv_geometry g{2, 3, n, n + 1, k, s, p};
                    BOOST_TEST(g.out_height() == counted_extent(n, k, s, p));
                    BOOST_TEST(g.out_width() == counted_extent(n + 1, k, s, p));
                    BOOST_TEST(g.rows() == 2 * k * k);
                    BOOST_TEST(g.columns() == 3 * g.out_height() * g.out_width());
                }
}

BOOST_AUTO_TEST_CASE(same_padding_keeps_the_map_and_stride_two_halves_it) {
    static_assert(conv_geometry{96, 32, 32, 32, 3, 1, 1}.out_height() == 32);
    static_assert(conv_geometry{96, 32, 32, 32, 3, 2, 1}.out_width() == 16);
    static_assert(conv_geometry{3, 1, 7, 7, 5, 1, 0}.out_width() == 3);
    BOOST_TEST(conv_geometry({96, 32, 32, 32, 3, 1, 1}).columns() == 32u * 32u * 32u);
}
