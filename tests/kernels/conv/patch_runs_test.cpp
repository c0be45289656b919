// Tests of include/maso/kernels/conv/patch_runs.hpp: the runs of any block of columns, in
// natural order and in window orders, cover the block once, column by column, each at the
// pixel its order gives it (maso_test/column_map.hpp builds that forwards from the windows,
// while the header decodes columns into pixels); panel_runs cut no run across a panel;
// pair_rows_of finds the groups of 2×2 windows that lie in one pooled row, and only those;
// tap_offsets steps as its division would.
#include <maso/kernels/conv/patch_runs.hpp>

#include <maso_test/column_map.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <vector>

namespace mk = maso::kernels;
using mk::conv_geometry;
using mk::patch_order;

namespace {

void check_runs(const conv_geometry& g, patch_order o) {
    const std::vector<std::ptrdiff_t> want = maso_test::column_map(g, o);
    const std::size_t ho = g.out_height(), wo = g.out_width(), n = want.size();
    std::vector<mk::detail::patch_run> runs(n);
    for (std::size_t j0 : {std::size_t{0}, std::size_t{1}, n / 3})
        for (std::size_t panel : {std::size_t{1}, std::size_t{5}, std::size_t{16}}) {
            if (j0 >= n) continue;
            const std::size_t count = n - j0;
            const std::size_t r = mk::detail::panel_runs(g, o, j0, count, panel, runs.data());
            BOOST_TEST(r <= count);
            std::size_t next = 0;
            for (std::size_t i = 0; i < r; ++i) {
                const auto& u = runs[i];
                BOOST_TEST(u.offset == next); // in order, without gaps
                BOOST_TEST(u.count >= 1u);
                BOOST_TEST(u.offset / panel == (u.offset + u.count - 1) / panel); // one panel
                if (!u.padding) // the packers' and the scatter's step through the input
                    BOOST_TEST(g.stride * u.step == mk::detail::run_step(g, o));
                for (std::size_t c = 0; c < u.count; ++c) {
                    const std::ptrdiff_t pixel =
                        u.padding ? -1
                                  : std::ptrdiff_t((u.n * ho + u.oy) * wo + u.ox0 + c * u.step);
                    BOOST_TEST_CONTEXT("column " << j0 + u.offset + c)
                    BOOST_TEST(pixel == want[j0 + u.offset + c]);
                }
                next += u.count;
            }
            BOOST_TEST(next == count);
        }
}

} // namespace

BOOST_AUTO_TEST_CASE(runs_cover_the_columns_at_their_pixels) {
    for (std::size_t batch : {1, 2})
        for (std::size_t h : {2, 4, 6})
            for (std::size_t w : {2, 6, 12, 34})
                for (std::size_t stride : {1, 2}) {
                    const conv_geometry g{1, batch, h, w, 3, stride, 1};
                    BOOST_TEST_CONTEXT("batch " << batch << ", " << h << "×" << w << ", stride "
                                                << stride) {
                        check_runs(g, patch_order::natural());
                        for (std::size_t k : {2, 3})
                            if (g.out_height() % k == 0 && g.out_width() % k == 0)
                                for (std::size_t L : {1, 3, 16})
                                    check_runs(g, patch_order::windows(k, L));
                    }
                }
}

BOOST_AUTO_TEST_CASE(pair_rows_are_groups_inside_one_pooled_row) {
    // 2 images of 4×8 outputs: pooled rows of 4 windows; groups of 2 windows lie in a row,
    // groups of 3 cross rows (all but the first), and another order has none.
    const conv_geometry g{1, 2, 4, 8, 1, 1, 0};
    const patch_order pairs = patch_order::windows(2, 2);
    for (std::size_t group = 0; group < 8; ++group) {
        const auto at = mk::detail::pair_rows_of(g, pairs, group, 2);
        BOOST_REQUIRE(at.has_value());
        const std::size_t w0 = group * 2; // the group's first window, 8 a image
        BOOST_TEST(at->image == w0 / 8);
        BOOST_TEST(at->oy == w0 % 8 / 4 * 2);
        BOOST_TEST(at->ox == w0 % 4 * 2);
    }
    BOOST_TEST(!mk::detail::pair_rows_of(g, pairs, 8, 2).has_value()); // past the last window
    BOOST_TEST(!mk::detail::pair_rows_of(g, patch_order::windows(2, 3), 1, 3).has_value());
    BOOST_TEST(!mk::detail::pair_rows_of(g, patch_order::windows(3, 2), 0, 2).has_value());
    BOOST_TEST(!mk::detail::pair_rows_of(g, patch_order::natural(), 0, 2).has_value());
}

BOOST_AUTO_TEST_CASE(tap_offsets_step_as_they_divide) {
    const conv_geometry g{3, 2, 5, 6, 3, 1, 1};
    const std::size_t plane = g.batch * (g.height + 2), wp = g.width + 2;
    for (std::size_t t0 : {0, 4, 8, 20}) {
        mk::detail::tap_offsets tap(g, t0);
        for (std::size_t t = t0; t < g.rows(); ++t, tap.next())
            BOOST_TEST(*tap == (t / 9 * plane + t / 3 % 3) * wp + t % 3);
    }
}
