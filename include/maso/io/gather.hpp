// maso/io/gather.hpp — copying a batch's images and labels into the caller's buffers.
//
//   std::vector<float> x(batch * train.shape().size());   // once, before training
//   std::vector<int> y(batch);
//   maso::io::gather(train, sampler.next(), x, y);         // each step: copies only
//   model.forward(x, y);
//
// The buffers are the caller's so that a training loop allocates nothing per step
// and can hand them straight to a model.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/dataset.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>

namespace maso::io {

/// images ← the images of d at `indices` ([k][C][H][W]), labels ← their labels.
/// Throws size_error unless images holds k·C·H·W floats and labels k ints, and
/// value_error for an index outside d; in both cases before anything is written.
inline void gather(const dataset& d, std::span<const std::size_t> indices, std::span<float> images,
                   std::span<int> labels) {
    const std::size_t k = indices.size(), size = d.shape().size();
    maso::detail::check_same_size(k * size, images.size(), "gather: the image buffer");
    maso::detail::check_same_size(k, labels.size(), "gather: the label buffer");
    for (std::size_t i : indices)
        if (i >= d.size())
            throw value_error("maso: gather: index " + std::to_string(i) + " is outside the " +
                              std::to_string(d.size()) + " images of " +
                              (d.name().empty() ? std::string("the data set") : d.name()));
    const auto all_labels = d.labels();
    for (std::size_t j = 0; j < k; ++j) {
        const auto src = d.image(indices[j]);
        std::copy(src.begin(), src.end(), images.begin() + std::ptrdiff_t(j * size));
        labels[j] = all_labels[indices[j]];
    }
}

} // namespace maso::io
