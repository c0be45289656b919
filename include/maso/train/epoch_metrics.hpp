// maso/train/epoch_metrics.hpp — what a trainer measured in one epoch: one row of the CSV
// file (train/metrics_csv.hpp) and one line of the progress display (train/progress.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace maso {

struct epoch_metrics {
    std::size_t epoch = 0;        ///< from 1
    std::size_t epochs = 0;       ///< the epochs of the run
    std::uint64_t step = 0;       ///< steps taken since the run began, at the epoch's end
    double train_loss = 0;        ///< the mean step loss, in training mode
    double train_accuracy = 0;    ///< the share of the epoch's images classified right, in [0, 1]
    bool evaluated = false;       ///< whether there is a test set: the test fields below
    double test_loss = 0;         ///< the mean loss over the whole test set, in evaluation mode
    double test_accuracy = 0;     ///< the share of the test set classified right, in [0, 1]
    double learning_rate = 0;     ///< the optimiser's rate at the epoch's last step
    double seconds = 0;           ///< wall time of the epoch's steps (evaluation excluded)
    double eval_seconds = 0;      ///< wall time of the evaluation
    double images_per_second = 0; ///< training images per second over the epoch's steps
    std::size_t steps = 0; ///< steps this process ran in the epoch (fewer when resumed in it)
};

} // namespace maso
