// Tests of include/maso/train/count_correct.hpp: the argmax of each image's scores in the
// channel-major layout, ties to the lowest class, NaN counted wrong, a partial label list.
#include <maso/core/shape.hpp>
#include <maso/train/count_correct.hpp>

#include <boost/test/unit_test.hpp>

#include <limits>
#include <vector>

using namespace maso;

namespace {
/// Scores of 4 images over 3 classes, given per image and stored [C][N] as a model's output.
std::vector<float> channel_major(const std::vector<std::vector<float>>& per_image) {
    const std::size_t n = per_image.size(), c = per_image[0].size();
    std::vector<float> out(n * c);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < c; ++k)
            out[k * n + i] = per_image[i][k];
    return out;
}
} // namespace

BOOST_AUTO_TEST_CASE(argmax_per_image_in_the_channel_major_layout) {
    auto s = channel_major(
        {{0.1f, 0.7f, 0.2f}, {0.5f, 0.2f, 0.3f}, {0.2f, 0.2f, 0.6f}, {0.3f, 0.3f, 0.4f}});
    const activation<shape<3>, float> scores{s.data(), 4};
    BOOST_TEST(count_correct(scores, std::vector<int>{1, 0, 2, 2}) == 4u);
    BOOST_TEST(count_correct(scores, std::vector<int>{1, 1, 2, 0}) == 2u);
    BOOST_TEST(count_correct(scores, std::vector<int>{0, 1, 0, 1}) == 0u);
    // The first two images only (a padded last batch).
    BOOST_TEST(count_correct(scores, std::vector<int>{1, 0}) == 2u);
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_lowest_class_and_nan_is_wrong) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto s = channel_major({{0.4f, 0.4f, 0.2f}, {nan, 0.2f, 0.3f}, {0.2f, nan, 0.6f}});
    const activation<shape<3>, float> scores{s.data(), 3};
    BOOST_TEST(count_correct(scores, std::vector<int>{0, 2, 2}) == 1u);
    BOOST_TEST(count_correct(scores, std::vector<int>{1, 0, 0}) == 0u);
}
