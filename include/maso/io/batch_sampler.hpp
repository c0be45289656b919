// maso/io/batch_sampler.hpp — which examples each training step sees.
//
// A sampler hands out the indices of one batch at a time, epoch after epoch:
//   sequential      0, 1, 2, … in order (evaluation);
//   shuffled        a new random permutation every epoch, cut into batches;
//   class_balanced  each step draws batch/C distinct examples of every class at
//                   random (the authors' class-balanced mini-batches, paper-spec §7);
//                   an epoch is N/batch steps. The batch lists class 0's examples,
//                   then class 1's, …: a mean loss and batch norm ignore the order.
// In sequential and shuffled order an epoch is N/batch full batches and the N mod
// batch examples left over (other ones each shuffled epoch) are skipped; with
// drop_last = false they form a smaller last batch instead.
//
//   maso::io::batch_sampler s(train, {.batch = 50, .order = maso::io::sampling::class_balanced,
//                                     .seed = 1});
//   for (std::size_t i = 0; i < s.steps_per_epoch(); ++i) {
//       std::span<const std::size_t> idx = s.next();   // valid until the next call
//       ...
//   }
//
// The random stream is std::mt19937_64 seeded with `seed`, mapped to indices by the
// fixed algorithms of detail/random.hpp: a seed gives the same batches on every
// compiler and standard library. next() allocates nothing.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/dataset.hpp>
#include <maso/io/detail/random.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace maso::io {

enum class sampling { sequential, shuffled, class_balanced };

struct sampler_options {
    std::size_t batch = 0; ///< examples per batch, ≥ 1
    sampling order = sampling::shuffled;
    std::uint64_t seed = 0; ///< the random stream (unused in sequential order)
    bool drop_last = true;  ///< sequential, shuffled: skip a partial last batch
};

class batch_sampler {
public:
    /// A sampler over examples with these labels (in [0, classes)). Throws value_error
    /// for a zero batch, no examples, a batch larger than the set (no whole batch),
    /// a label out of range, and in class-balanced order for a batch that is not a
    /// multiple of the class count or a class with fewer than batch/C examples.
    batch_sampler(std::span<const int> labels, std::size_t classes, sampler_options o)
        : options_(o), random_(o.seed) {
        const std::size_t n = labels.size();
        if (o.batch == 0) refuse("the batch size must be at least 1");
        if (n == 0) refuse("there are no examples to sample");
        if (classes == 0) refuse("there must be at least one class");
        for (std::size_t i = 0; i < n; ++i)
            if (labels[i] < 0 || std::size_t(labels[i]) >= classes)
                refuse("example " + std::to_string(i) + " has label " + std::to_string(labels[i]) +
                       ", outside [0, " + std::to_string(classes) + ")");
        if (o.order == sampling::class_balanced) {
            if (o.batch % classes != 0)
                refuse("class-balanced batches: the batch size " + std::to_string(o.batch) +
                       " is not a multiple of the " + std::to_string(classes) + " classes");
            steps_ = n / o.batch;
            per_class_ = o.batch / classes;
            // Examples grouped by class: class c owns pool_[begin_[c], begin_[c + 1]).
            begin_.assign(classes + 1, 0);
            for (int l : labels)
                ++begin_[std::size_t(l) + 1];
            for (std::size_t c = 0; c < classes; ++c) {
                if (begin_[c + 1] < per_class_)
                    refuse("class-balanced batches: class " + std::to_string(c) + " has " +
                           std::to_string(begin_[c + 1]) + " examples, fewer than the " +
                           std::to_string(per_class_) + " each batch draws");
                begin_[c + 1] += begin_[c];
            }
            pool_.resize(n);
            std::vector<std::size_t> fill(begin_.begin(), begin_.end() - 1);
            for (std::size_t i = 0; i < n; ++i)
                pool_[fill[std::size_t(labels[i])]++] = i;
            batch_.resize(o.batch);
        } else {
            steps_ = o.drop_last ? n / o.batch : (n + o.batch - 1) / o.batch;
            pool_.resize(n);
            for (std::size_t i = 0; i < n; ++i)
                pool_[i] = i;
        }
        if (steps_ == 0)
            refuse("the batch size " + std::to_string(o.batch) + " is larger than the " +
                   std::to_string(n) + " examples");
    }

    /// A sampler over a data set's labels and classes.
    batch_sampler(const dataset& d, sampler_options o)
        : batch_sampler(d.labels(), d.classes(), o) {}

    /// The indices of the next batch: batch_size() of them, fewer only for the last
    /// batch of an epoch with drop_last = false. Valid until the next call.
    std::span<const std::size_t> next() {
        if (started_ && step_ + 1 < steps_) {
            ++step_;
        } else {
            if (started_) ++epoch_;
            started_ = true;
            step_ = 0;
            if (options_.order == sampling::shuffled) detail::shuffle(std::span(pool_), random_);
        }
        if (options_.order == sampling::class_balanced) {
            std::size_t out = 0;
            for (std::size_t c = 0; c + 1 < begin_.size(); ++c) {
                const std::span<std::size_t> members(pool_.data() + begin_[c],
                                                     begin_[c + 1] - begin_[c]);
                detail::choose_front(members, per_class_, random_);
                for (std::size_t i = 0; i < per_class_; ++i)
                    batch_[out++] = members[i];
            }
            return batch_;
        }
        const std::size_t first = step_ * options_.batch;
        return std::span<const std::size_t>(pool_).subspan(
            first, std::min(options_.batch, pool_.size() - first));
    }

    std::size_t batch_size() const noexcept { return options_.batch; }
    std::size_t steps_per_epoch() const noexcept { return steps_; }
    /// N, the number of examples sampled from.
    std::size_t size() const noexcept { return pool_.size(); }
    const sampler_options& options() const noexcept { return options_; }
    /// The epoch and step (from 0) of the batch next() returned last.
    std::size_t epoch() const noexcept { return epoch_; }
    std::size_t step() const noexcept { return step_; }

private:
    [[noreturn]] static void refuse(const std::string& what) {
        throw value_error("maso: batch_sampler: " + what);
    }

    sampler_options options_;
    std::mt19937_64 random_;
    std::vector<std::size_t> pool_;  ///< the order (sequential, shuffled) or examples by class
    std::vector<std::size_t> begin_; ///< class_balanced: where each class starts in pool_
    std::vector<std::size_t> batch_; ///< class_balanced: the batch being handed out
    std::size_t per_class_ = 0;
    std::size_t steps_ = 0;
    std::size_t epoch_ = 0;
    std::size_t step_ = 0;
    bool started_ = false;
};

} // namespace maso::io
