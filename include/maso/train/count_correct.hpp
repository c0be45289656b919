// maso/train/count_correct.hpp — how many images of a batch a classifier got right.
//
//   model.forward(images, labels);
//   std::size_t right = maso::count_correct(model.output(), labels);
//
// The prediction is the class of largest score (probability), ties to the lowest class, as
// torch.argmax and numpy.argmax choose. An image with a NaN among its scores counts as wrong:
// a NaN compares false both ways, so an argmax over it would quietly pick some class.
#pragma once

#include <maso/core/tensor.hpp>

#include <cstddef>
#include <span>

namespace maso {

/// The number of n < labels.size() whose largest score is that of class labels[n], for
/// class scores of a batch as model.output() returns them (channel-major [C][N]).
/// labels.size() may be less than the batch: the images after it are not looked at.
template <class S, class T>
requires(S::is_vector) std::size_t
    count_correct(activation<S, T> scores, std::span<const int> labels)
noexcept {
    std::size_t correct = 0;
    for (std::size_t n = 0; n < labels.size() && n < scores.batch; ++n) {
        std::size_t best = 0;
        T best_score = scores.channel(0)[n];
        bool finite = best_score == best_score;
        for (std::size_t c = 1; c < S::channels; ++c) {
            const T s = scores.channel(c)[n];
            finite = finite && s == s;
            if (s > best_score) {
                best = c;
                best_score = s;
            }
        }
        correct += finite && labels[n] >= 0 && best == std::size_t(labels[n]);
    }
    return correct;
}

} // namespace maso
