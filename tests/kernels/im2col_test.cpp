// Tests of include/maso/kernels/im2col.hpp.
#include <maso/kernels/im2col.hpp>

#include <maso_test/check.hpp>

using maso::kernels::conv_geometry;

BOOST_AUTO_TEST_CASE(entries_are_the_patches) {
    // one channel, 2 images of 2×3, 3×3 same: the centre tap row is x itself,
    // the top-left tap row is x shifted down-right with zeros shifted in.
    const conv_geometry g{1, 2, 2, 3, 3, 1, 1};
    const std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    std::vector<double> cols(g.rows() * g.columns(), -1);
    maso::kernels::im2col(g, x.data(), cols.data());
    BOOST_TEST(g.columns() == 12u);
    const std::vector<double> centre(cols.begin() + 4 * 12, cols.begin() + 5 * 12);
    BOOST_TEST(centre == x, boost::test_tools::per_element());
    const std::vector<double> top_left(cols.begin(), cols.begin() + 12);
    const std::vector<double> expect{0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 7, 8};
    BOOST_TEST(top_left == expect, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(col2im_is_the_adjoint_and_accumulates) {
    // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every geometry: stride, padding, odd maps.
    for (const conv_geometry g :
         {conv_geometry{2, 2, 5, 4, 3, 1, 1}, conv_geometry{2, 1, 5, 4, 3, 2, 1},
          conv_geometry{1, 2, 6, 6, 3, 2, 1}, conv_geometry{3, 2, 7, 5, 3, 2, 0},
          conv_geometry{2, 2, 4, 3, 1, 2, 0}, conv_geometry{1, 2, 2, 3, 5, 1, 2},
          conv_geometry{2, 1, 9, 7, 5, 3, 2}}) {
        const std::size_t n_x = g.channels * g.batch * g.height * g.width;
        const auto x = maso_test::uniform_vector<double>(n_x, -1, 1);
        const auto c = maso_test::uniform_vector<double>(g.rows() * g.columns(), -1, 1);
        std::vector<double> cols(c.size()), dx(n_x, 0.0);
        maso::kernels::im2col(g, x.data(), cols.data());
        maso::kernels::col2im(g, c.data(), dx.data());
        double lhs = 0, rhs = 0;
        for (std::size_t i = 0; i < c.size(); ++i)
            lhs += cols[i] * c[i];
        for (std::size_t i = 0; i < n_x; ++i)
            rhs += x[i] * dx[i];
        MASO_CHECK_CLOSE(lhs, rhs, 1e-13, 1.0);
        const auto once = dx;
        maso::kernels::col2im(g, c.data(), dx.data());
        for (std::size_t i = 0; i < n_x; ++i)
            MASO_CHECK_CLOSE(dx[i], 2 * once[i], 1e-14, 1.0);
    }
}
