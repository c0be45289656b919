// maso/io/prefetch.hpp — preparing the next batch on a background thread while the
// caller trains on the current one.
//
//   maso::io::prefetcher batches(train, maso::io::batch_sampler(train, {.batch = 50,
//                                    .order = maso::io::sampling::class_balanced, .seed = 1}));
//   for (std::size_t s = 0; s < batches.steps_per_epoch(); ++s) {
//       maso::io::batch_view b = batches.next();  // valid until the next call
//       model.forward(b.images, b.labels);
//       ...
//   }
//
// Double buffering: two batch buffers, allocated at construction. While the caller
// holds batch k (from one next() to the next), one worker thread samples, gathers,
// augments and transforms batch k + 1 into the other buffer, then waits until the
// caller gives batch k back. The worker is a plain std::thread, not maso's thread
// pool: the kernels the caller runs meanwhile keep every pool thread busy.
//
// The worker is the only user of the sampler, the augmenter and the transform, and
// calls them batch after batch in order, so the batches are exactly those of the
// same steps done synchronously (sampler.next(), gather(), augmenter.apply(),
// transform) — whatever the timing. Nothing is allocated per batch.
//
// An exception thrown while preparing a batch (by the transform, say) ends the
// worker; next() rethrows it when the caller reaches that batch, and again on every
// later call. The destructor stops the worker after at most the batch it is
// preparing and joins it, also mid-epoch. The data set is read by the worker: it
// must outlive the prefetcher and must not be changed while the prefetcher exists.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/augment.hpp>
#include <maso/io/batch_sampler.hpp>
#include <maso/io/dataset.hpp>
#include <maso/io/gather.hpp>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

namespace maso::io {

/// One prepared batch, lent to the caller until its next call to next().
struct batch_view {
    std::span<const float> images; ///< [k][C][H][W]
    std::span<const int> labels;   ///< k labels
    std::size_t epoch = 0;         ///< the sampler's epoch and step of this batch
    std::size_t step = 0;

    /// k, the number of images (the batch size, or fewer for a partial last batch).
    std::size_t size() const noexcept { return labels.size(); }
};

struct prefetch_options {
    /// Applied to each batch after gathering, on the worker thread.
    std::optional<augmenter> augment = std::nullopt;
    /// Called last on each batch (images, labels), on the worker thread: for
    /// preparation of one's own. It must not allocate if nothing per batch should.
    std::function<void(std::span<float>, std::span<int>)> transform = nullptr;
};

class prefetcher {
public:
    /// Starts the worker, which prepares the first batch at once. Throws size_error
    /// if an augmenter is given for another image shape than the data set's.
    prefetcher(const dataset& data, batch_sampler sampler, prefetch_options options = {})
        : data_(data), sampler_(std::move(sampler)), options_(std::move(options)),
          steps_per_epoch_(sampler_.steps_per_epoch()), batch_size_(sampler_.batch_size()) {
        if (options_.augment && !(options_.augment->shape() == data.shape()))
            throw size_error("maso: prefetcher: the augmenter is for " +
                             to_string(options_.augment->shape()) + " images, the data set has " +
                             to_string(data.shape()));
        for (auto& s : slots_) {
            s.images.resize(batch_size_ * data.shape().size());
            s.labels.resize(batch_size_);
        }
        worker_ = std::thread([this] { run(); });
    }

    prefetcher(const prefetcher&) = delete; // the worker holds `this`
    prefetcher& operator=(const prefetcher&) = delete;

    /// Stops the worker (it finishes at most the batch it is preparing) and joins it.
    ~prefetcher() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        worker_.join();
    }

    /// Gives back the batch of the previous call and returns the next one, waiting
    /// for the worker if it is not ready. Rethrows an exception of the worker.
    batch_view next() {
        std::unique_lock lock(mutex_);
        if (failure_) std::rethrow_exception(failure_);
        if (taken_ > 0) slots_[(taken_ - 1) % 2].held = false;
        changed_.notify_all();
        slot& s = slots_[taken_ % 2];
        changed_.wait(lock, [&] { return s.ready; });
        s.ready = false;
        s.held = true;
        ++taken_;
        if (s.error) {
            failure_ = s.error;
            std::rethrow_exception(failure_);
        }
        const std::size_t k = s.count;
        return {std::span<const float>(s.images).first(k * data_.shape().size()),
                std::span<const int>(s.labels).first(k), s.epoch, s.step};
    }

    std::size_t steps_per_epoch() const noexcept { return steps_per_epoch_; }
    std::size_t batch_size() const noexcept { return batch_size_; }

private:
    struct slot {
        std::vector<float> images;
        std::vector<int> labels;
        std::size_t count = 0, epoch = 0, step = 0;
        std::exception_ptr error;
        bool ready = false; ///< prepared, not yet taken
        bool held = false;  ///< lent to the caller
    };

    /// The worker: batch k goes to slot k mod 2 once the caller has given back
    /// batch k − 2 (which was in that slot).
    void run() {
        for (std::size_t k = 0;; ++k) {
            slot& s = slots_[k % 2];
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return stop_ || (!s.ready && !s.held); });
                if (stop_) return;
            }
            // Outside the lock: the caller touches neither this slot nor the sampler.
            try {
                prepare(s);
            } catch (...) {
                s.error = std::current_exception();
            }
            {
                std::lock_guard lock(mutex_);
                s.ready = true;
            }
            changed_.notify_all();
            if (s.error) return;
        }
    }

    void prepare(slot& s) {
        const std::span<const std::size_t> indices = sampler_.next();
        s.count = indices.size();
        s.epoch = sampler_.epoch();
        s.step = sampler_.step();
        const auto images = std::span(s.images).first(s.count * data_.shape().size());
        const auto labels = std::span(s.labels).first(s.count);
        gather(data_, indices, images, labels);
        if (options_.augment) options_.augment->apply(images);
        if (options_.transform) options_.transform(images, labels);
    }

    const dataset& data_;
    batch_sampler sampler_;
    prefetch_options options_;
    std::size_t steps_per_epoch_, batch_size_;
    std::array<slot, 2> slots_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool stop_ = false;
    std::size_t taken_ = 0; ///< batches handed to the caller
    std::exception_ptr failure_;
    std::thread worker_; ///< last: started once everything it uses exists
};

} // namespace maso::io
