// Tests of include/maso/io/augment.hpp: crop_flip against a hand computation, and
// the augmenter's draws: each image is one of the (2·pad + 1)² · 2 crops and flips,
// all of which occur, the same for a seed, with all channels moved together.
#include <maso/io/augment.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/count_allocations.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace io = maso::io;

namespace {

/// A 2×3×4 image whose every value is distinct and nonzero: 100c + 10y + x + 1.
std::vector<float> ramp() {
    std::vector<float> v;
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 3; ++y)
            for (int x = 0; x < 4; ++x)
                v.push_back(float(100 * c + 10 * y + x + 1));
    return v;
}
const io::image_shape shape{2, 3, 4};

std::vector<float> crop(const std::vector<float>& in, int dy, int dx, bool flip) {
    std::vector<float> out(in.size(), -7.f);
    io::crop_flip(in, out, shape, dy, dx, flip);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(crop_flip_by_hand) {
    const auto in = ramp();
    // No shift, no flip: the image itself.
    BOOST_CHECK(crop(in, 0, 0, false) == in);
    // Shift down-right by (1, 2): out[y][x] = in[y+1][x+2], zero past the edges.
    // Channel 0 rows: in row 1 = 11 12 13 14, row 2 = 21 22 23 24.
    const std::vector<float> shifted{13,  14,  0, 0, 23,  24,  0, 0, 0, 0, 0, 0,
                                     113, 114, 0, 0, 123, 124, 0, 0, 0, 0, 0, 0};
    BOOST_CHECK(crop(in, 1, 2, false) == shifted);
    // Flip only: each row reversed.
    const std::vector<float> flipped{4,   3,   2,   1,   14,  13,  12,  11,  24,  23,  22,  21,
                                     104, 103, 102, 101, 114, 113, 112, 111, 124, 123, 122, 121};
    BOOST_CHECK(crop(in, 0, 0, true) == flipped);
    // Shift up-left by (−1, −1), then flip: out[y][x] = in[y−1][(3 − x) − 1].
    // Row 0 is padding; row 1 = in row 0 at columns 2, 1, 0, −1 → 3 2 1 0.
    const std::vector<float> both{0, 0, 0, 0, 3,   2,   1,   0, 13,  12,  11,  0,
                                  0, 0, 0, 0, 103, 102, 101, 0, 113, 112, 111, 0};
    BOOST_CHECK(crop(in, -1, -1, true) == both);
}

BOOST_AUTO_TEST_CASE(every_augmented_image_is_one_of_the_allowed_transforms) {
    // 400 copies of the ramp, pad 1: 9 shifts × 2 flips = 18 transforms, each should
    // come up about 22 times; each output must be exactly one of them.
    const auto in = ramp();
    std::vector<float> batch;
    for (int k = 0; k < 400; ++k)
        batch.insert(batch.end(), in.begin(), in.end());
    io::augmenter aug(shape, {.pad = 1, .flip = true}, 5);
    aug.apply(batch);
    std::map<std::tuple<int, int, bool>, int> seen;
    for (int k = 0; k < 400; ++k) {
        const std::vector<float> out(batch.begin() + k * 24, batch.begin() + (k + 1) * 24);
        int matches = 0;
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
                for (bool flip : {false, true})
                    if (crop(in, dy, dx, flip) == out) {
                        ++matches;
                        ++seen[{dy, dx, flip}];
                    }
        BOOST_REQUIRE_EQUAL(matches, 1);
    }
    BOOST_CHECK_EQUAL(seen.size(), 18u);
    for (const auto& [t, n] : seen)
        BOOST_CHECK_MESSAGE(n >= 5 && n <= 50, "a transform came " << n << " times of 400");
}

BOOST_AUTO_TEST_CASE(a_seed_fixes_the_augmentation) {
    std::vector<float> a, b, c;
    for (int k = 0; k < 20; ++k) {
        const auto in = ramp();
        a.insert(a.end(), in.begin(), in.end());
    }
    b = c = a;
    io::augmenter second(shape, {.pad = 2}, 11), other(shape, {.pad = 2}, 12);
    second.apply(b);
    other.apply(c);
    io::augmenter again(shape, {.pad = 2}, 11);
    again.apply(a);
    BOOST_CHECK(a == b);
    BOOST_CHECK(a != c);
}

BOOST_AUTO_TEST_CASE(skip_draws_what_apply_would) {
    // 20 images augmented at once, against 7 skipped and the other 13 augmented: the 13
    // come out the same, so a resumed run reaches the augmentation of its step.
    const auto images = [](int n) {
        std::vector<float> v;
        for (int k = 0; k < n; ++k) {
            const auto in = ramp();
            v.insert(v.end(), in.begin(), in.end());
        }
        return v;
    };
    const auto skipped = std::ptrdiff_t(7 * shape.size());
    std::vector<float> all = images(20), tail = images(13), off_by_one = images(13);
    io::augmenter straight(shape, {.pad = 1}, 5), skipping(shape, {.pad = 1}, 5),
        short_by_one(shape, {.pad = 1}, 5);
    straight.apply(all);
    skipping.skip(7);
    skipping.apply(tail);
    BOOST_CHECK(std::equal(tail.begin(), tail.end(), all.begin() + skipped));
    // It can fail: one image fewer skipped gives other draws.
    short_by_one.skip(6);
    short_by_one.apply(off_by_one);
    BOOST_CHECK(off_by_one != tail);
}

BOOST_AUTO_TEST_CASE(no_pad_and_no_flip_is_the_identity) {
    auto x = ramp();
    io::augmenter none(shape, {.pad = 0, .flip = false}, 3);
    none.apply(x);
    BOOST_CHECK(x == ramp());
}

BOOST_AUTO_TEST_CASE(flip_only_mirrors_about_half_the_images) {
    const auto in = ramp();
    std::vector<float> batch;
    for (int k = 0; k < 1000; ++k)
        batch.insert(batch.end(), in.begin(), in.end());
    io::augmenter aug(shape, {.pad = 0, .flip = true}, 8);
    aug.apply(batch);
    const auto mirrored = crop(in, 0, 0, true);
    int flips = 0, others = 0;
    for (int k = 0; k < 1000; ++k) {
        const std::vector<float> out(batch.begin() + k * 24, batch.begin() + (k + 1) * 24);
        flips += out == mirrored;
        others += out != mirrored && out != in;
    }
    BOOST_CHECK_EQUAL(others, 0);
    BOOST_CHECK(flips > 400 && flips < 600); // 500 ± 6 standard deviations
}

BOOST_AUTO_TEST_CASE(bad_shapes_and_sizes_are_refused) {
    BOOST_CHECK_THROW(io::augmenter(shape, {.pad = 3}, 1), maso::value_error); // pad ≥ H
    BOOST_CHECK_THROW(io::augmenter({0, 3, 4}, {.pad = 1}, 1), maso::value_error);
    io::augmenter aug(shape, {.pad = 1}, 1);
    std::vector<float> x(25);
    BOOST_CHECK_THROW(aug.apply(x), maso::size_error);
}

BOOST_AUTO_TEST_CASE(apply_allocates_nothing) {
    std::vector<float> x(10 * 24, 1.f);
    io::augmenter aug(shape, {.pad = 2}, 4);
    const long before = maso_test::allocations();
    aug.apply(x);
    BOOST_CHECK_EQUAL(maso_test::allocations(), before);
}
