// Tests of include/maso/io/preprocess.hpp: the authors' per-image centring and
// max-abs scaling against a hand computation and its invariants, images that must
// stay zero, and per-channel standardisation with training statistics applied to a
// test set, against sums done here in double.
#include <maso/io/preprocess.hpp>

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace io = maso::io;

namespace {

io::dataset random_set(std::size_t n, io::image_shape s, unsigned seed, float lo, float hi) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> x(n * s.size());
    for (auto& v : x)
        v = u(g);
    return io::dataset(std::move(x), std::vector<int>(n, 0), s, 1, "random");
}

} // namespace

BOOST_AUTO_TEST_CASE(one_image_by_hand) {
    // Values 1, 2, 3, 6: mean 3, centred −2, −1, 0, 3, max |·| 3.
    std::vector<float> x{1, 2, 3, 6};
    io::centre_and_scale(x, 4);
    BOOST_CHECK_CLOSE(x[0], -2.f / 3.f, 1e-5);
    BOOST_CHECK_CLOSE(x[1], -1.f / 3.f, 1e-5);
    BOOST_CHECK_EQUAL(x[2], 0.f);
    BOOST_CHECK_EQUAL(x[3], 1.f);
}

BOOST_AUTO_TEST_CASE(each_image_is_centred_and_scaled_on_its_own) {
    auto d = random_set(5, {3, 4, 4}, 1, 0.f, 1.f);
    d.image(2)[7] = 40.f; // an outlier in one image must not change the others
    const io::dataset before = d;
    io::centre_and_scale(d);
    for (std::size_t n = 0; n < d.size(); ++n) {
        double sum = 0, peak = 0;
        for (float v : before.image(n))
            sum += v;
        const double mean = sum / 48;
        for (float v : before.image(n))
            peak = std::max(peak, std::fabs(v - mean));
        double after_sum = 0, after_peak = 0;
        for (std::size_t i = 0; i < 48; ++i) {
            const double expected = (before.image(n)[i] - mean) / peak;
            BOOST_CHECK_SMALL(d.image(n)[i] - expected, 1e-6);
            after_sum += d.image(n)[i];
            after_peak = std::max(after_peak, double(std::fabs(d.image(n)[i])));
        }
        BOOST_CHECK_SMALL(after_sum / 48, 1e-6);
        BOOST_CHECK_EQUAL(after_peak, 1.0);
    }
}

BOOST_AUTO_TEST_CASE(zero_and_constant_images_stay_zero_not_nan) {
    std::vector<float> x(3 * 6, 0.f);
    for (std::size_t i = 6; i < 12; ++i)
        x[i] = 0.7f; // a constant image: centred, it is all zero too
    x[12] = 1.f;     // the third one has content
    io::centre_and_scale(x, 6);
    for (std::size_t i = 0; i < 12; ++i)
        BOOST_CHECK_EQUAL(x[i], 0.f);
    BOOST_CHECK_EQUAL(x[12], 1.f);
    BOOST_CHECK_CLOSE(x[13], -0.2f, 1e-4); // (0 − 1/6) / (5/6)
}

BOOST_AUTO_TEST_CASE(centre_and_scale_checks_its_sizes) {
    std::vector<float> x(10);
    BOOST_CHECK_THROW(io::centre_and_scale(x, 3), maso::size_error);
    BOOST_CHECK_THROW(io::centre_and_scale(x, 0), maso::value_error);
}

BOOST_AUTO_TEST_CASE(channel_statistics_are_per_channel_over_all_images) {
    // 2 images of 2 channels of 1×2: channel 0 holds 1, 3, 5, 7; channel 1 holds 10 ×4.
    io::dataset d({1, 3, 10, 10, 5, 7, 10, 10}, {0, 0}, {2, 1, 2}, 1);
    const auto s = io::channel_statistics_of(d);
    BOOST_REQUIRE_EQUAL(s.mean.size(), 2u);
    BOOST_CHECK_EQUAL(s.mean[0], 4.0);
    BOOST_CHECK_EQUAL(s.mean[1], 10.0);
    BOOST_CHECK_CLOSE(s.stddev[0], std::sqrt(5.0), 1e-12); // (9 + 1 + 1 + 9) / 4
    BOOST_CHECK_EQUAL(s.stddev[1], 0.0);
    // Applied: channel 0 is standardised, the constant channel 1 only centred.
    io::standardise(d, s);
    const float r5 = float(1 / std::sqrt(5.0));
    const std::vector<float> expected{-3 * r5, -r5, 0, 0, r5, 3 * r5, 0, 0};
    for (std::size_t i = 0; i < 8; ++i)
        BOOST_CHECK_SMALL(d.images()[i] - expected[i], 1e-6f);
}

BOOST_AUTO_TEST_CASE(training_statistics_apply_to_the_test_set) {
    auto train = random_set(20, {3, 2, 3}, 2, -1.f, 3.f);
    auto test = random_set(7, {3, 2, 3}, 3, 0.f, 5.f);
    const io::dataset test_before = test;
    // The statistics, computed here independently: sums in double over n, h, w.
    std::vector<double> mean(3, 0), var(3, 0);
    for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t n = 0; n < 20; ++n)
            for (std::size_t i = 0; i < 6; ++i)
                mean[c] += train.image(n)[c * 6 + i];
        mean[c] /= 120;
        for (std::size_t n = 0; n < 20; ++n)
            for (std::size_t i = 0; i < 6; ++i)
                var[c] += std::pow(train.image(n)[c * 6 + i] - mean[c], 2);
        var[c] /= 120;
    }
    const auto s = io::channel_statistics_of(train);
    for (std::size_t c = 0; c < 3; ++c) {
        BOOST_CHECK_CLOSE(s.mean[c], mean[c], 1e-9);
        BOOST_CHECK_CLOSE(s.stddev[c], std::sqrt(var[c]), 1e-9);
    }
    io::standardise(train, s);
    io::standardise(test, s);
    for (std::size_t n = 0; n < 7; ++n)
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t i = 0; i < 6; ++i) {
                const double x = test_before.image(n)[c * 6 + i];
                BOOST_CHECK_SMALL(test.image(n)[c * 6 + i] - (x - mean[c]) / std::sqrt(var[c]),
                                  1e-5);
            }
    // On the set they came from, the statistics become 0 and 1.
    const auto after = io::channel_statistics_of(train);
    for (std::size_t c = 0; c < 3; ++c) {
        BOOST_CHECK_SMALL(after.mean[c], 1e-6);
        BOOST_CHECK_CLOSE(after.stddev[c], 1.0, 1e-4);
    }
}

BOOST_AUTO_TEST_CASE(statistics_of_another_channel_count_are_refused) {
    auto d = random_set(2, {3, 1, 1}, 4, 0.f, 1.f);
    const io::channel_statistics one{{0.5}, {1.0}};
    BOOST_CHECK_THROW(io::standardise(d, one), maso::size_error);
    BOOST_CHECK_THROW(io::channel_statistics_of(io::dataset{}), maso::value_error);
}
