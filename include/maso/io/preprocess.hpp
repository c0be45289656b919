// maso/io/preprocess.hpp — preparing images before training: the authors' per-image
// normalisation and per-channel standardisation.
//
// Per image (paper-spec §7, the authors' load_utility), over all C·H·W values of
// the image:
//     x ← x − mean(x),   then   x ← x / max|x|
// so every image is centred and lies in [−1, 1] with at least one value at ±1. An
// image whose values are all equal (all zero, say) is left all zero rather than
// divided by zero.
//
// Per channel, with statistics taken on one set (the training set) and applied to
// any set (train and test alike, so the test set leaks nothing into them):
//     x ← (x − mean_c) / std_c
// std_c is the population standard deviation over the N·H·W values of channel c;
// a constant channel (std_c = 0) is only centred.
//
//   maso::io::centre_and_scale(sets.train);
//   maso::io::centre_and_scale(sets.test);
//   // or
//   const auto stats = maso::io::channel_statistics_of(sets.train);
//   maso::io::standardise(sets.train, stats);
//   maso::io::standardise(sets.test, stats);
//
// Sums are taken in double: a channel of CIFAR-10's training set has 51 million
// values, too many for a float sum.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace maso::io {

/// x ← x − mean(x), x ← x / max|x| for each image of `images` ([N][image_size]);
/// throws size_error if images.size() is not a multiple of image_size (> 0).
inline void centre_and_scale(std::span<float> images, std::size_t image_size) {
    if (image_size == 0) throw value_error("maso: centre_and_scale: the image size is 0");
    if (images.size() % image_size != 0)
        throw size_error("maso: centre_and_scale: " + std::to_string(images.size()) +
                         " values are not a whole number of images of " +
                         std::to_string(image_size));
    for (std::size_t start = 0; start < images.size(); start += image_size) {
        const std::span<float> x = images.subspan(start, image_size);
        double sum = 0;
        for (float v : x)
            sum += v;
        const double mean = sum / double(image_size);
        double peak = 0;
        for (float v : x)
            peak = std::max(peak, std::fabs(double(v) - mean));
        // peak = 0 only for a constant image: every centred value is exactly 0
        // (the mean of equal floats is that float), so zero is the right answer.
        // Dividing (not multiplying by 1/peak) makes the peak exactly ±1.
        if (peak == 0) {
            std::fill(x.begin(), x.end(), 0.f);
            continue;
        }
        for (float& v : x)
            v = float((double(v) - mean) / peak);
    }
}

/// The same for every image of a data set.
inline void centre_and_scale(dataset& d) { centre_and_scale(d.images(), d.shape().size()); }

/// Per-channel mean and population standard deviation of a data set.
struct channel_statistics {
    std::vector<double> mean;
    std::vector<double> stddev;
};

/// The statistics of every channel over all images of `d` (two passes in double).
/// Throws value_error for an empty set.
inline channel_statistics channel_statistics_of(const dataset& d) {
    if (d.empty())
        throw value_error("maso: " + (d.name().empty() ? "channel_statistics_of" : d.name()) +
                          ": channel statistics of an empty data set");
    const std::size_t channels = d.shape().channels, plane = d.shape().plane();
    const double count = double(d.size()) * double(plane);
    channel_statistics s{std::vector<double>(channels, 0.0), std::vector<double>(channels, 0.0)};
    for (std::size_t n = 0; n < d.size(); ++n)
        for (std::size_t c = 0; c < channels; ++c)
            for (float v : d.image(n).subspan(c * plane, plane))
                s.mean[c] += v;
    for (auto& m : s.mean)
        m /= count;
    for (std::size_t n = 0; n < d.size(); ++n)
        for (std::size_t c = 0; c < channels; ++c)
            for (float v : d.image(n).subspan(c * plane, plane))
                s.stddev[c] += (v - s.mean[c]) * (v - s.mean[c]);
    for (auto& v : s.stddev)
        v = std::sqrt(v / count);
    return s;
}

/// x ← (x − mean_c) / std_c for every value of channel c of every image; a
/// channel with std_c = 0 is only centred. Throws size_error if the statistics
/// are not of d's channel count.
inline void standardise(dataset& d, const channel_statistics& s) {
    const std::size_t channels = d.shape().channels, plane = d.shape().plane();
    maso::detail::check_same_size(channels, s.mean.size(),
                                  "standardise: the list of channel means");
    maso::detail::check_same_size(channels, s.stddev.size(),
                                  "standardise: the list of channel standard deviations");
    for (std::size_t n = 0; n < d.size(); ++n)
        for (std::size_t c = 0; c < channels; ++c) {
            const double scale = s.stddev[c] > 0 ? 1 / s.stddev[c] : 1;
            for (float& v : d.image(n).subspan(c * plane, plane))
                v = float((v - s.mean[c]) * scale);
        }
}

} // namespace maso::io
