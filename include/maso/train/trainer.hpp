// maso/train/trainer.hpp — the training loop: epochs of steps on a data set, an evaluation on
// the test set after each, progress on the way, metrics to CSV, checkpoints, Ctrl-C.
//
//   auto [train, test] = maso::io::load_mnist("/usr/share/datasets/fashion-mnist");
//   maso::io::centre_and_scale(train);
//   maso::io::centre_and_scale(test);
//   auto model = maso::instantiate(net, 100);
//   maso::adam opt(model, {.learning_rate = 1e-3, .bias_correction = false});
//   maso::trainer t(model, opt, train, test,
//                   {.epochs = 5, .order = maso::io::sampling::class_balanced, .seed = 1,
//                    .save = "run.safetensors", .csv = "run.csv"});
//   const maso::train_result r = t.fit();   // r.interrupted after Ctrl-C
//
// One step is what a hand-written loop does (docs/data.md): the next batch from the
// prefetcher, zero_gradients, forward, backward, the optional clipping and schedule, the
// optimiser's step. The batch of the next step is sampled, gathered and augmented on the
// prefetcher's thread while this one runs, and nothing is allocated per step: the loop adds
// to what a bare step costs only a clock read, the count of right answers and, now and then,
// a progress line (bench/trainer_bench.cpp measures it).
//
// After each epoch: the whole test set in evaluation mode (train/evaluate.hpp), one line of
// progress and one CSV row (train/epoch_metrics.hpp), and a checkpoint if `save` is set,
// written atomically (io/checkpoint.hpp) with the step and the data order.
//
// Resuming: resume(path) loads the model, the optimiser and the step; fit() then rebuilds the
// sampler and the augmenter from the seed and skips the batches of the steps already taken,
// so the run goes on with the batches an unbroken run would have seen, and ends bitwise equal
// to it. A checkpoint that the trainer wrote records its data order (order, batch, seed,
// augmentation); resuming it with another one is refused, since the batches would differ.
//
// Stopping: with stop_on_sigint, Ctrl-C (SIGINT) during fit() sets a flag
// (train/sigint_flag.hpp); the step in progress finishes, a checkpoint is saved if `save` is
// set, and fit() returns with interrupted = true. A loss (or gradient norm) that is not finite
// stops training with maso::numeric_error naming the step and, from the model's message, the
// first node whose output holds a NaN or an infinity; no checkpoint is written over the last
// good one.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/augment.hpp>
#include <maso/io/batch_sampler.hpp>
#include <maso/io/checkpoint.hpp>
#include <maso/io/dataset.hpp>
#include <maso/io/prefetch.hpp>
#include <maso/io/safetensors.hpp>
#include <maso/train/clip.hpp>
#include <maso/train/count_correct.hpp>
#include <maso/train/epoch_metrics.hpp>
#include <maso/train/evaluate.hpp>
#include <maso/train/metrics_csv.hpp>
#include <maso/train/progress.hpp>
#include <maso/train/schedule.hpp>
#include <maso/train/sigint_flag.hpp>
#include <maso/train/step_report.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maso {

struct trainer_options {
    std::size_t epochs = 1;                      ///< ≥ 1; an epoch is N / batch steps
    io::sampling order = io::sampling::shuffled; ///< or class_balanced, the paper's
    std::uint64_t seed = 0;                      ///< the batches and the augmentation
    std::optional<io::augment_options> augment = std::nullopt; ///< none: the paper's runs
    /// A rate for every step (set before the optimiser's step, from the step count); none:
    /// the optimiser's rate throughout.
    std::optional<schedule> learning_rate = std::nullopt;
    double clip_norm = 0;         ///< > 0: clip_gradient_norm(model, clip_norm) every step
    std::filesystem::path save{}; ///< a checkpoint after each epoch and on Ctrl-C; empty: none
    std::filesystem::path csv{};  ///< a CSV row per epoch; empty: none
    progress_options progress{};  ///< where and how progress shows
    bool stop_on_sigint = true;   ///< Ctrl-C stops after the step (otherwise it kills)
    /// Called after every step, on the training thread (for a log of one's own, or a test).
    std::function<void(const step_report&)> on_step = nullptr;
};

struct train_result {
    bool interrupted = false;            ///< stopped by Ctrl-C before the last step
    std::uint64_t step = 0;              ///< steps taken since the run began
    std::filesystem::path checkpoint{};  ///< the last checkpoint written by fit(); empty: none
    std::vector<epoch_metrics> epochs{}; ///< the epochs this call to fit() finished
};

template <class Model, class Optimizer>
requires Model::has_loss class trainer {
public:
    /// A trainer for `model` and its `optimizer` on `train`, evaluated after each epoch on
    /// `test`. The model, the optimiser and both sets must outlive it. Throws value_error for
    /// epochs = 0, a negative or non-finite clip_norm, a set with more classes than the model
    /// has outputs or a batch the sampler refuses (docs/errors.md), and size_error for a set
    /// whose images are not the model's input.
    trainer(Model& model, Optimizer& optimizer, const io::dataset& train, const io::dataset& test,
            trainer_options options = {})
        : trainer(model, optimizer, train, &test, std::move(options)) {}
    /// The same without a test set: no evaluation.
    trainer(Model& model, Optimizer& optimizer, const io::dataset& train,
            trainer_options options = {})
        : trainer(model, optimizer, train, nullptr, std::move(options)) {}
    // The sets are kept by reference: a temporary would be gone before fit().
    trainer(Model&, Optimizer&, io::dataset&&, const io::dataset&, trainer_options = {}) = delete;
    trainer(Model&, Optimizer&, const io::dataset&, io::dataset&&, trainer_options = {}) = delete;
    trainer(Model&, Optimizer&, io::dataset&&, trainer_options = {}) = delete;

    trainer(const trainer&) = delete;
    trainer& operator=(const trainer&) = delete;

    /// Steps taken since the run began (after resume(), the checkpoint's).
    std::uint64_t step() const noexcept { return step_; }
    std::size_t steps_per_epoch() const noexcept { return steps_per_epoch_; }
    /// epochs × steps_per_epoch().
    std::uint64_t total_steps() const noexcept {
        return std::uint64_t(options_.epochs) * steps_per_epoch_;
    }
    const trainer_options& options() const noexcept { return options_; }

    /// The data order as a checkpoint records it: "order=class_balanced batch=100 seed=1
    /// augment=none" (or augment=flip, pad_4, pad_4_flip).
    std::string data_order() const {
        std::string s = std::string("order=") +
                        (options_.order == io::sampling::class_balanced ? "class_balanced"
                         : options_.order == io::sampling::shuffled     ? "shuffled"
                                                                        : "sequential") +
                        " batch=" + std::to_string(model_.batch()) +
                        " seed=" + std::to_string(options_.seed) + " augment=";
        const auto& a = options_.augment;
        if (!a || (a->pad == 0 && !a->flip)) return s + "none";
        if (a->pad == 0) return s + "flip";
        return s + "pad_" + std::to_string(a->pad) + (a->flip ? "_flip" : "");
    }

    /// Loads a checkpoint's model, optimiser and step; the next fit() goes on from that step.
    /// Refuses (value_error, before anything is loaded) a checkpoint that the trainer wrote
    /// with another data order; load_checkpoint's file_errors otherwise.
    io::checkpoint_state resume(const std::filesystem::path& path) {
        {
            const io::safetensors_file f = io::read_safetensors(path);
            const auto it = f.metadata().find(std::string(data_key));
            if (it != f.metadata().end() && it->second != data_order())
                throw value_error("maso: trainer: " + path.string() +
                                  " was saved by a run whose data order is \"" + it->second +
                                  "\"; this run's is \"" + data_order() +
                                  "\", so its batches would differ");
        }
        io::checkpoint_state st = io::load_checkpoint(path, model_, optimizer_);
        step_ = st.step;
        return st;
    }

    /// Saves a checkpoint of the model, the optimiser, the step and the data order.
    void save(const std::filesystem::path& path) {
        io::save_checkpoint(path, model_, optimizer_,
                            {.step = step_, .metadata = {{std::string(data_key), data_order()}}});
    }

    /// Trains from step() to total_steps(), or until Ctrl-C. See the header comment.
    train_result fit() {
        train_result result;
        result.step = step_;
        progress display(options_.progress);
        const std::uint64_t total = total_steps();
        if (step_ >= total) {
            display.note("nothing to train: the run is at step " + std::to_string(step_) + " of " +
                         std::to_string(total));
            return result;
        }
        model_.set_mode(mode::training);

        // The batches an unbroken run would see from this step on: the sampler and the
        // augmenter rebuilt from the seed and moved past the steps already taken.
        io::batch_sampler sampler(*train_, sampler_options());
        std::optional<io::augmenter> augment;
        if (options_.augment) augment.emplace(train_->shape(), *options_.augment, augment_seed());
        for (std::uint64_t s = 0; s < step_; ++s)
            sampler.next();
        if (augment) augment->skip(std::size_t(step_) * model_.batch());
        io::prefetcher batches(*train_, std::move(sampler), {.augment = std::move(augment)});

        std::optional<metrics_csv> csv;
        if (!options_.csv.empty()) csv.emplace(options_.csv, /*append=*/step_ > 0);
        std::optional<sigint_flag> stop;
        if (options_.stop_on_sigint) stop.emplace();

        const std::size_t spe = steps_per_epoch_;
        double run_step_seconds = 0; // this call's steps, for the ETA
        std::uint64_t run_steps = 0;
        double eval_seconds = -1; // the last evaluation's, once there is one
        while (step_ < total) {
            const std::size_t epoch = std::size_t(step_ / spe); // from 0
            double loss_sum = 0;
            std::size_t correct = 0, images = 0, steps = 0;
            const clock::time_point epoch_start = clock::now();
            clock::time_point before = epoch_start;
            for (std::size_t k = std::size_t(step_ % spe); k < spe; ++k) {
                const io::batch_view b = batches.next();
                model_.zero_gradients();
                const double loss = stop_if_not_finite(
                    epoch, k, [&] { return double(model_.forward(b.images, b.labels)); });
                correct += count_correct(model_.output(), b.labels);
                model_.backward();
                if (options_.clip_norm > 0)
                    stop_if_not_finite(
                        epoch, k, [&] { return clip_gradient_norm(model_, options_.clip_norm); });
                if (options_.learning_rate)
                    optimizer_.set_learning_rate((*options_.learning_rate)(step_));
                optimizer_.step();
                ++step_;

                const clock::time_point now = clock::now();
                run_step_seconds += seconds(before, now);
                before = now;
                ++run_steps;
                loss_sum += loss;
                images += b.size();
                ++steps;
                step_report r;
                r.epoch = epoch + 1;
                r.epochs = options_.epochs;
                r.step = k + 1;
                r.steps_per_epoch = spe;
                r.global_step = step_;
                r.loss = loss;
                r.mean_loss = loss_sum / double(steps);
                r.accuracy = double(correct) / double(images);
                r.images_per_second = double(images) / seconds(epoch_start, now);
                r.eta_seconds = eta(total, run_step_seconds / double(run_steps), eval_seconds,
                                    r.images_per_second, epoch);
                display.step(r);
                if (options_.on_step) options_.on_step(r);
                if (stop && stop->raised() && step_ < total)
                    return stopped(std::move(result), display, epoch);
            }

            epoch_metrics m;
            m.epoch = epoch + 1;
            m.epochs = options_.epochs;
            m.step = step_;
            m.train_loss = loss_sum / double(steps);
            m.train_accuracy = double(correct) / double(images);
            m.learning_rate = optimizer_.learning_rate();
            m.seconds = seconds(epoch_start, before);
            m.images_per_second = double(images) / m.seconds;
            m.steps = steps;
            if (test_ && !test_->empty()) {
                const clock::time_point t0 = clock::now();
                const evaluation e = evaluate(model_, test_->images(), test_->labels());
                eval_seconds = m.eval_seconds = seconds(t0, clock::now());
                m.evaluated = true;
                m.test_loss = e.loss;
                m.test_accuracy = e.accuracy;
            }
            result.epochs.push_back(m);
            if (csv) csv->write(m);
            display.epoch_end(m);
            if (!options_.save.empty()) {
                save(options_.save);
                result.checkpoint = options_.save;
            }
            result.step = step_;
            // Ctrl-C during the evaluation: the epoch is complete (and saved); stop here.
            if (stop && stop->raised() && step_ < total)
                return stopped(std::move(result), display, epoch);
        }
        result.step = step_;
        return result;
    }

private:
    using clock = std::chrono::steady_clock;
    static constexpr std::string_view data_key = "trainer.data";

    trainer(Model& model, Optimizer& optimizer, const io::dataset& train, const io::dataset* test,
            trainer_options options)
        : model_(model), optimizer_(optimizer), train_(&train), test_(test),
          options_(std::move(options)) {
        if (options_.epochs == 0) throw value_error("maso: trainer: epochs = 0 must be at least 1");
        if (!(options_.clip_norm >= 0) || !std::isfinite(options_.clip_norm))
            throw value_error("maso: trainer: clip_norm = " + std::to_string(options_.clip_norm) +
                              " must be finite and non-negative (0: no clipping)");
        check_set(train, "training set");
        if (test) check_set(*test, "test set");
        // The sampler and augmenter fit() will build, built once here so that their refusals
        // come now rather than at fit().
        steps_per_epoch_ = io::batch_sampler(train, sampler_options()).steps_per_epoch();
        if (options_.augment) io::augmenter(train.shape(), *options_.augment, 0);
    }

    void check_set(const io::dataset& d, const char* which) const {
        using in = typename Model::input_shape;
        const io::image_shape ours{in::channels, in::height, in::width};
        if (!d.empty() && !(d.shape() == ours))
            throw size_error(std::string("maso: trainer: the ") + which + "'s images are " +
                             io::to_string(d.shape()) + ", the model takes " + io::to_string(ours));
        if (d.classes() > Model::output_shape::channels)
            throw value_error(std::string("maso: trainer: the ") + which + " has " +
                              std::to_string(d.classes()) + " classes, more than the model's " +
                              std::to_string(Model::output_shape::channels) + " outputs");
    }

    io::sampler_options sampler_options() const {
        return {.batch = model_.batch(), .order = options_.order, .seed = options_.seed};
    }
    /// Another stream than the sampler's, from the same seed.
    std::uint64_t augment_seed() const noexcept { return options_.seed ^ 0x9e3779b97f4a7c15ull; }

    static double seconds(clock::time_point a, clock::time_point b) noexcept {
        return std::chrono::duration<double>(b - a).count();
    }

    /// The time to the end: the steps left at this call's mean step time, and the evaluations
    /// left (this epoch's included) at the last one's time, or, before there was one, at a
    /// third of the time to train on as many images (a forward pass is about a third of a step).
    double eta(std::uint64_t total, double step_seconds, double eval_seconds, double images_per_s,
               std::size_t epoch) const noexcept {
        double t = double(total - step_) * step_seconds;
        if (test_ && !test_->empty()) {
            const double each =
                eval_seconds >= 0 ? eval_seconds : double(test_->size()) / images_per_s / 3;
            t += double(options_.epochs - epoch) * each;
        }
        return t;
    }

    /// f(), or, if it finds a value that is not finite, numeric_error naming the step too.
    template <class F>
    double stop_if_not_finite(std::size_t epoch, std::size_t k, F&& f) {
        try {
            return f();
        } catch (const numeric_error& e) {
            std::string what = e.what();
            if (what.rfind("maso: ", 0) == 0) what.erase(0, 6);
            throw numeric_error("maso: step " + std::to_string(step_ + 1) + " (epoch " +
                                std::to_string(epoch + 1) + ", step " + std::to_string(k + 1) +
                                " of " + std::to_string(steps_per_epoch_) + "): " + what);
        }
    }

    /// After Ctrl-C: a checkpoint at this step (unless the epoch's end just wrote it), a note.
    train_result stopped(train_result result, progress& display, std::size_t epoch) {
        const bool saved_here = !result.checkpoint.empty() && result.step == step_;
        result.interrupted = true;
        result.step = step_;
        std::string note = "stopped by Ctrl-C after step " + std::to_string(step_) + " (epoch " +
                           std::to_string(epoch + 1) + ")";
        if (!options_.save.empty()) {
            if (!saved_here) save(options_.save);
            result.checkpoint = options_.save;
            note += "; checkpoint saved to " + options_.save.string();
        } else {
            note += "; no checkpoint saved (no path to save to)";
        }
        display.note(note);
        return result;
    }

    Model& model_;
    Optimizer& optimizer_;
    const io::dataset* train_;
    const io::dataset* test_;
    trainer_options options_;
    std::size_t steps_per_epoch_ = 0;
    std::uint64_t step_ = 0;
};

} // namespace maso
