// Tests of include/maso/kernels/conv/padding.hpp: pad_input puts every plane of x inside a
// border of g.pad zeros, from channel-major planes and from the images' [N][C][H][W] (which it
// turns channel-major on the way), on 1 and 2 threads; unpad_output takes the interior back
// out; padded_size counts the padded planes.
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/conv/padding.hpp>

#include <maso_test/thread_count_guard.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <vector>

namespace mk = maso::kernels;

namespace {

/// x[c][n][y][x] (channel-major) or x[n][c][y][x] (images): distinct values by position.
float value_at(std::size_t c, std::size_t n, std::size_t y, std::size_t x) {
    return float(((c * 7 + n) * 13 + y) * 17 + x) + 0.5f;
}

void check_padding(const mk::conv_geometry& g, mk::plane_layout from) {
    const std::size_t C = g.channels, N = g.batch, H = g.height, W = g.width, P = g.pad;
    std::vector<float> x(C * N * H * W);
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t y = 0; y < H; ++y)
                for (std::size_t i = 0; i < W; ++i) {
                    const std::size_t plane =
                        from == mk::plane_layout::images ? n * C + c : c * N + n;
                    x[(plane * H + y) * W + i] = value_at(c, n, y, i);
                }
    const std::size_t hp = H + 2 * P, wp = W + 2 * P;
    BOOST_TEST(mk::padded_size(g) == C * N * hp * wp);
    std::vector<float> xp(mk::padded_size(g), -1.f);
    mk::pad_input(g, x.data(), xp.data(), from);
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t y = 0; y < hp; ++y)
                for (std::size_t i = 0; i < wp; ++i) {
                    const bool inside = y >= P && y < P + H && i >= P && i < P + W;
                    BOOST_CHECK_EQUAL(xp[((c * N + n) * hp + y) * wp + i],
                                      inside ? value_at(c, n, y - P, i - P) : 0.f);
                }
    // unpad_output: the interior, channel-major, whatever the border holds.
    if (P > 0)
        for (std::size_t p = 0; p < C * N; ++p)
            xp[p * hp * wp] = 99.f; // a corner of every padded plane: not in dx
    std::vector<float> dx(C * N * H * W, -1.f);
    mk::unpad_output(g, xp.data(), dx.data());
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t y = 0; y < H; ++y)
                for (std::size_t i = 0; i < W; ++i)
                    BOOST_CHECK_EQUAL(dx[((c * N + n) * H + y) * W + i], value_at(c, n, y, i));
}

} // namespace

BOOST_AUTO_TEST_CASE(planes_inside_their_borders) {
    for (std::size_t threads : {1, 2}) {
        maso_test::thread_count_guard guard;
        maso::set_num_threads(threads);
        for (const mk::plane_layout from :
             {mk::plane_layout::channel_major, mk::plane_layout::images})
            for (std::size_t pad : {0, 1, 2}) {
                BOOST_TEST_CONTEXT("threads " << threads << ", pad " << pad << ", from images "
                                              << (from == mk::plane_layout::images)) {
                    check_padding({3, 2, 5, 4, 2 * pad + 1, 1, pad}, from);
                    check_padding({1, 3, 1, 7, 2 * pad + 1, 1, pad}, from);
                }
            }
    }
}
