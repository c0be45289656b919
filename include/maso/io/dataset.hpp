// maso/io/dataset.hpp — a labelled image data set held in memory.
//
// Images are floats [N][C][H][W] (what a model's forward() takes), labels are
// ints in [0, classes). The invariants — N·C·H·W floats, N labels, every label
// a class — are checked once, when the set is built, so that samplers, gather()
// and the preprocessing functions can index without checking again. Moving a
// data set moves two vectors and a string; copying copies the images.
//
//   auto sets = maso::io::load_mnist("/usr/share/datasets/fashion-mnist");
//   sets.train.size();           // 60000
//   sets.train.image(0);         // 784 floats in [0, 1]
//   sets.train.labels()[0];      // 9
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/image_shape.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace maso::io {

class dataset {
public:
    /// An empty set (no images, no classes); a loader's result is never empty.
    dataset() = default;

    /// Takes the images ([N][C][H][W], N = labels.size()) and labels. Throws
    /// value_error for a shape with a zero extent, zero classes or a label outside
    /// [0, classes), and size_error when images.size() is not N·C·H·W.
    dataset(std::vector<float> images, std::vector<int> labels, image_shape shape,
            std::size_t classes, std::string name = {})
        : images_(std::move(images)), labels_(std::move(labels)), shape_(shape), classes_(classes),
          name_(std::move(name)) {
        const std::string who = name_.empty() ? "maso: dataset: " : "maso: " + name_ + ": ";
        if (shape_.size() == 0)
            throw value_error(who + "the image shape " + to_string(shape_) + " has a zero extent");
        if (classes_ == 0) throw value_error(who + "a data set needs at least one class");
        maso::detail::check_same_size(labels_.size() * shape_.size(), images_.size(),
                                      "the image buffer of a data set");
        for (std::size_t n = 0; n < labels_.size(); ++n)
            if (labels_[n] < 0 || std::size_t(labels_[n]) >= classes_)
                throw value_error(who + "image " + std::to_string(n) + " has label " +
                                  std::to_string(labels_[n]) + ", outside [0, " +
                                  std::to_string(classes_) + ")");
    }

    /// N, the number of images.
    std::size_t size() const noexcept { return labels_.size(); }
    bool empty() const noexcept { return labels_.empty(); }
    const image_shape& shape() const noexcept { return shape_; }
    std::size_t classes() const noexcept { return classes_; }
    /// Where the set came from (the file or files read), for messages and logs.
    const std::string& name() const noexcept { return name_; }

    /// Every image, [N][C][H][W]. Mutable so that preprocessing works in place;
    /// the number of images and their labels cannot change.
    std::span<float> images() noexcept { return images_; }
    std::span<const float> images() const noexcept { return images_; }
    std::span<const int> labels() const noexcept { return labels_; }

    /// Image n, C·H·W floats (n < size(), not checked).
    std::span<float> image(std::size_t n) noexcept {
        return {images_.data() + n * shape_.size(), shape_.size()};
    }
    std::span<const float> image(std::size_t n) const noexcept {
        return {images_.data() + n * shape_.size(), shape_.size()};
    }

    /// How many images each class has (classes() entries).
    std::vector<std::size_t> class_counts() const {
        std::vector<std::size_t> counts(classes_, 0);
        for (int l : labels_)
            ++counts[std::size_t(l)];
        return counts;
    }

private:
    std::vector<float> images_;
    std::vector<int> labels_;
    image_shape shape_;
    std::size_t classes_ = 0;
    std::string name_;
};

} // namespace maso::io
