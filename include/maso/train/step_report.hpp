// maso/train/step_report.hpp — where a training run is after a step, for a progress display
// (train/progress.hpp) and for a trainer's on_step hook (train/trainer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace maso {

struct step_report {
    std::size_t epoch = 0;           ///< the epoch this step belongs to, from 1
    std::size_t epochs = 0;          ///< the epochs of the run
    std::size_t step = 0;            ///< the step within the epoch, from 1
    std::size_t steps_per_epoch = 0; ///< steps in an epoch
    std::uint64_t global_step = 0;   ///< steps taken since the run began, this one included
    double loss = 0;                 ///< this step's mean loss over its batch
    double mean_loss = 0;            ///< the mean of the step losses of this epoch so far
    double accuracy = 0;             ///< the share of this epoch's images so far classified right
    double images_per_second = 0;    ///< training images per second, this epoch so far
    double eta_seconds = 0;          ///< the time left to the end of the run, estimated
};

} // namespace maso
