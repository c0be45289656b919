// maso/train/evaluate.hpp — the loss and accuracy of a classifier on a whole data set.
//
//   const maso::evaluation e = maso::evaluate(model, test.images(), test.labels());
//   std::printf("test accuracy %.2f%% (%zu of %zu)\n", 100 * e.accuracy, e.correct, e.count);
//
// The model runs in mode::evaluation (batch norm's running statistics, paper-spec §9.9) and is
// put back in the mode it was in, also when something throws. The set is cut into batches of
// the model's size in order; a model's batch size is fixed at instantiate, so a last partial
// batch of k images is padded with zero images to a full one and only its first k outputs are
// counted. In evaluation mode every image's output depends on that image alone, so the
// padding changes nothing that is counted: every image is counted once, exactly.
//
// The loss is the mean over the images of −log p(label), p the model's output probabilities,
// p clamped below at the smallest normal float (a loss of at most 87.3 per image, where a
// float p has underflowed to 0). It is computed from the outputs rather than taken from
// forward(), whose loss is the mean over a whole batch, padding included. An image whose
// output is NaN makes the loss NaN and counts as wrong.
//
// Nothing is allocated but the padded batch, when there is a partial one.
#pragma once

#include <maso/core/error.hpp>
#include <maso/expr/node.hpp>
#include <maso/train/count_correct.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace maso {

struct evaluation {
    double loss = 0;         ///< the mean of −log p(label); 0 for an empty set
    double accuracy = 0;     ///< correct / count; 0 for an empty set
    std::size_t correct = 0; ///< images classified right
    std::size_t count = 0;   ///< images evaluated
};

/// Evaluates a model that ends in softmax_cross_entropy() on images [N][C][H][W] and their N
/// labels. Throws size_error if images does not hold N images of the model's input, and
/// value_error for a label outside the model's classes, before anything runs.
template <class Model>
requires Model::has_loss evaluation evaluate(Model& model,
                                             std::span<const typename Model::value_type> images,
                                             std::span<const int> labels) {
    using T = typename Model::value_type;
    constexpr std::size_t size = Model::input_shape::size;
    constexpr std::size_t classes = Model::output_shape::channels;
    maso::detail::check_same_size(labels.size() * size, images.size(),
                                  "evaluate: the image buffer");
    for (std::size_t n = 0; n < labels.size(); ++n)
        if (labels[n] < 0 || std::size_t(labels[n]) >= classes)
            throw value_error("maso: evaluate: image " + std::to_string(n) + " has label " +
                              std::to_string(labels[n]) + ", outside [0, " +
                              std::to_string(classes) + ")");

    struct mode_guard {
        Model& m;
        mode before;
        ~mode_guard() { m.set_mode(before); }
    } guard{model, model.get_mode()};
    model.set_mode(mode::evaluation);

    const std::size_t batch = model.batch(), n = labels.size();
    std::vector<T> padded;
    evaluation e;
    double loss = 0;
    for (std::size_t first = 0; first < n; first += batch) {
        const std::size_t k = std::min(batch, n - first);
        std::span<const T> x = images.subspan(first * size, k * size);
        if (k < batch) {
            padded.assign(batch * size, T(0));
            std::copy(x.begin(), x.end(), padded.begin());
            x = padded;
        }
        model.forward(x);
        const auto p = model.output();
        const std::span<const int> y = labels.subspan(first, k);
        e.correct += count_correct(p, y);
        for (std::size_t i = 0; i < k; ++i) {
            const T q = p.channel(std::size_t(y[i]))[i];
            loss -= std::log(double(std::max(q, std::numeric_limits<T>::min())));
        }
    }
    e.count = n;
    if (n > 0) {
        e.loss = loss / double(n);
        e.accuracy = double(e.correct) / double(n);
    }
    return e;
}

} // namespace maso
