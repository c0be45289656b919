// maso/core/thread_pool.hpp — the persistent pool of threads the kernels split their work over.
//
//   parallel_for(tasks, f)  cuts [0, tasks) into min(tasks, num_threads()) contiguous ranges
//                           whose sizes differ by at most 1 (earlier ranges the larger) and
//                           calls f(begin, end, t) for range t on pool thread t; t = 0 is the
//                           calling thread. It returns when every range is done.
//   on_each_thread(f)       calls f(t) once on each pool thread, e.g. to reserve the
//                           thread_local buffers a kernel needs, before the first step.
//   num_threads(), set_num_threads(n)
//                           the thread count: 1 to 256; by default MASO_NUM_THREADS if set,
//                           else std::thread::hardware_concurrency().
//
// Why a static partition rather than work stealing: which elements a thread touches, and in
// which order, depends only on (tasks, num_threads()). A kernel that reduces within each range
// and then combines the partial results in order of t therefore gives bitwise the same result on
// every run with the same thread count, which makes training runs reproducible and lets tests
// compare exact values. Kernels give near-equal rows to each range, so balance is good anyway.
//
// Why nothing is allocated per call: maso promises that forward and backward allocate nothing
// once a model is built (the tests count operator new), and kernels call parallel_for hundreds
// of times per training step. So the callable is passed as a pointer plus a trampoline (no
// std::function), the job lives in the pool, and the workers are started once, on first need,
// and kept. Only the first multi-threaded call and set_num_threads start or join threads.
//
// Waiting: each worker has its own counter that the caller bumps to hand it a job, and the caller
// waits for a shared count of unfinished ranges to reach zero. Both sides spin briefly (a kernel
// usually follows the previous one within microseconds) and then block in C++20 atomic wait, a
// futex on Linux, which compares and sleeps atomically, so no wake-up can be lost.
//
// Nested calls: a task running on the pool that calls parallel_for runs the whole range inline,
// f(0, tasks, t), where t is the index of the pool thread it runs on (0 on the caller). Waiting
// for the pool from inside it would deadlock, and keeping t means a kernel that indexes per-thread
// scratch by t never shares a buffer between two threads. on_each_thread and set_num_threads
// cannot be honoured from inside a task and throw maso::error there.
//
// Calls from different user threads are serialised by a mutex: one job runs at a time. An
// exception thrown by f in any range is rethrown on the caller once every range has finished
// (the one of the lowest t if several threw), and the pool stays usable.
#pragma once

#include <maso/core/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

namespace maso {

namespace detail {

/// The largest thread count; the pool keeps one slot per possible thread, so nothing is
/// allocated when the count changes.
inline constexpr std::size_t max_threads = 256;

inline constexpr std::size_t not_a_pool_thread = static_cast<std::size_t>(-1);

/// The pool index of this thread while it runs pool work: always on a worker, during its own
/// range on the caller. A parallel_for that finds it set is nested and must not wait for the pool.
inline thread_local std::size_t pool_thread_index = not_a_pool_thread;

/// Parses a thread count such as the value of MASO_NUM_THREADS: a decimal integer from 1 to
/// max_threads and nothing else (no sign, no spaces). `what` names the source in the message.
inline std::size_t parse_thread_count(const char* text, const char* what) {
    std::size_t n = 0;
    bool ok = text != nullptr && *text != '\0';
    for (const char* p = text; ok && *p != '\0'; ++p) {
        if (*p < '0' || *p > '9') {
            ok = false;
        } else {
            n = n * 10 + static_cast<std::size_t>(*p - '0');
            ok = n <= max_threads; // stops before the value can overflow
        }
    }
    if (!ok || n == 0)
        throw value_error(std::string("maso: ") + what + " is " +
                          (text != nullptr ? "\"" + std::string(text) + "\"" : "unset") +
                          "; expected a whole number of threads from 1 to " +
                          std::to_string(max_threads));
    return n;
}

/// The count used until set_num_threads is called; the environment is read once.
inline std::size_t default_thread_count() {
    static const std::size_t n = [] {
        if (const char* env = std::getenv("MASO_NUM_THREADS"))
            return parse_thread_count(env, "MASO_NUM_THREADS");
        // hardware_concurrency() may return 0 when it cannot tell.
        return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, max_threads);
    }();
    return n;
}

/// Range t of [0, tasks) cut into `parts` near-equal pieces, the first tasks % parts one larger.
struct index_range {
    std::size_t begin;
    std::size_t end;
};
constexpr index_range static_range(std::size_t tasks, std::size_t parts, std::size_t t) noexcept {
    const std::size_t size = tasks / parts, larger = tasks % parts;
    const std::size_t begin = t * size + std::min(t, larger);
    return {begin, begin + size + (t < larger ? 1 : 0)};
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// How long a waiting thread spins before it blocks: about 50 µs on current x86 (a pause takes
/// 10-40 ns), long enough to catch the next kernel of the same step. With more pool threads than
/// cores a spinner only delays the thread it waits for, so the pool then barely spins (as
/// libgomp throttles its GOMP_SPINCOUNT).
inline constexpr unsigned spin_iterations = 2048;
inline constexpr unsigned oversubscribed_spin_iterations = 16;

/// Waits until done(a) holds and returns the value that satisfied it.
template <class Done>
std::uint32_t await(const std::atomic<std::uint32_t>& a, unsigned spin_limit, Done done) noexcept {
    for (unsigned spins = 0;;) {
        const std::uint32_t v = a.load(std::memory_order_acquire);
        if (done(v)) return v;
        if (spins < spin_limit) {
            ++spins;
            cpu_relax();
        } else {
            a.wait(v, std::memory_order_acquire); // returns once a != v, or spuriously
        }
    }
}

/// The pool behind parallel_for and on_each_thread; use those, not this.
class thread_pool {
public:
    /// Runs range t of `parts` on pool thread t.
    using task_fn = void (*)(void* ctx, std::size_t t, std::size_t parts);

    static thread_pool& instance() {
        static thread_pool pool;
        return pool;
    }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        const std::lock_guard lock(mutex_);
        resize(1);
    }

    /// num_threads(); lock-free, so tasks may call it while the pool runs.
    std::size_t size() {
        std::size_t n = count_.load(std::memory_order_acquire);
        if (n != 0) return n;
        const std::size_t d = default_thread_count();
        // A concurrent set_num_threads wins: then n receives its value.
        return count_.compare_exchange_strong(n, d, std::memory_order_acq_rel) ? d : n;
    }

    void set_size(std::size_t n) {
        if (n == 0) throw value_error("maso: set_num_threads(0): the pool needs at least 1 thread");
        if (n > max_threads)
            throw value_error("maso: set_num_threads(" + std::to_string(n) + "): at most " +
                              std::to_string(max_threads) + " threads are supported");
        if (pool_thread_index != not_a_pool_thread)
            throw error("maso: set_num_threads cannot be called from inside parallel_for or "
                        "on_each_thread");
        const std::lock_guard lock(mutex_);
        count_.store(n, std::memory_order_release);
        if (started_ > 1) resize(n); // a pool never used stays lazy
    }

    /// Runs fn on min(max_parts, size()) threads and returns when all are done, rethrowing the
    /// first exception by thread index. Must not be called from a pool thread (see the nested
    /// paths in parallel_for and on_each_thread).
    void run(std::size_t max_parts, task_fn fn, void* ctx) {
        const std::lock_guard lock(mutex_);
        const std::size_t n = size();
        const std::size_t parts = std::min(max_parts, n);
        if (parts == 1) {
            const caller_scope own;
            fn(ctx, 0, 1);
            return;
        }
        if (started_ != n) resize(n);

        // Published before the hand-off below; rewritten only after pending_ is back to zero,
        // when no worker reads them any more.
        fn_ = fn;
        ctx_ = ctx;
        parts_ = parts;
        pending_.store(static_cast<std::uint32_t>(parts - 1), std::memory_order_relaxed);
        for (std::size_t t = 1; t < parts; ++t) {
            // seq_cst RMW: the store must not pass notify's check for sleepers.
            slots_[t].go.fetch_add(1);
            slots_[t].go.notify_one();
        }
        {
            const caller_scope own;
            try {
                fn(ctx, 0, parts);
            } catch (...) {
                slots_[0].error = std::current_exception();
            }
        }
        // Workers still use ctx, which lives on the caller's stack: wait even after a throw.
        await(pending_, spin_limit_.load(std::memory_order_relaxed),
              [](std::uint32_t v) { return v == 0; });

        std::exception_ptr first;
        for (std::size_t t = 0; t < parts; ++t) {
            if (!first) first = slots_[t].error;
            slots_[t].error = nullptr;
        }
        if (first) std::rethrow_exception(first);
    }

private:
    thread_pool() = default;

    // One cache line per thread, so the caller's hand-off to one worker does not disturb the
    // others while they spin.
    struct alignas(64) slot {
        std::atomic<std::uint32_t> go{0}; ///< bumped by the caller to hand over a job
        bool stop = false;                ///< set before a bump that asks the worker to exit
        std::exception_ptr error;         ///< what this thread's range threw, if anything
        std::thread thread;               ///< empty for slot 0, the caller
    };

    // Marks the caller as pool thread 0 while it runs its own range, so nesting is detected.
    struct caller_scope {
        caller_scope() noexcept { pool_thread_index = 0; }
        ~caller_scope() { pool_thread_index = not_a_pool_thread; }
        caller_scope(const caller_scope&) = delete;
        caller_scope& operator=(const caller_scope&) = delete;
    };

    void work(std::size_t t, std::uint32_t seen) {
        pool_thread_index = t;
        slot& s = slots_[t];
        for (;;) {
            const unsigned spin = spin_limit_.load(std::memory_order_relaxed);
            seen = await(s.go, spin, [seen](std::uint32_t v) { return v != seen; });
            if (s.stop) return;
            try {
                fn_(ctx_, t, parts_);
            } catch (...) {
                s.error = std::current_exception();
            }
            // The last worker out wakes the caller; after this, the job must not be touched.
            if (pending_.fetch_sub(1) == 1) pending_.notify_one();
        }
    }

    /// Starts or joins workers so that threads 0..n-1 exist. Called with mutex_ held.
    void resize(std::size_t n) {
        while (started_ > n) {
            slot& s = slots_[started_ - 1];
            s.stop = true;
            s.go.fetch_add(1);
            s.go.notify_one();
            s.thread.join();
            s.stop = false;
            --started_;
        }
        while (started_ < n) {
            slot& s = slots_[started_];
            // The worker starts from the counter's current value, so a bump made before the
            // new thread first looks is still seen as a job.
            s.thread = std::thread(&thread_pool::work, this, started_,
                                   s.go.load(std::memory_order_relaxed));
            ++started_;
        }
        const unsigned cores = std::thread::hardware_concurrency();
        spin_limit_.store(cores != 0 && n > cores ? oversubscribed_spin_iterations
                                                  : spin_iterations,
                          std::memory_order_relaxed);
    }

    std::mutex mutex_;                  ///< one job or resize at a time
    std::atomic<std::size_t> count_{0}; ///< num_threads(); 0 until first read or set
    std::size_t started_ = 1;           ///< threads running, the caller included
    task_fn fn_ = nullptr;              ///< the current job
    void* ctx_ = nullptr;
    std::size_t parts_ = 0;
    std::atomic<unsigned> spin_limit_{spin_iterations}; ///< set by resize; only a hint
    alignas(64) std::atomic<std::uint32_t> pending_{0}; ///< worker ranges not yet finished
    std::array<slot, max_threads> slots_{};
};

} // namespace detail

/// The number of threads parallel_for splits work over, from 1 to 256. Until set_num_threads
/// is called: MASO_NUM_THREADS if set (read once, at the first use; a malformed value throws
/// value_error), else std::thread::hardware_concurrency().
inline std::size_t num_threads() { return detail::thread_pool::instance().size(); }

/// Sets the thread count (1 to 256, else value_error); a running pool starts or joins workers
/// now, one never used starts them at its first multi-threaded call.
inline void set_num_threads(std::size_t n) { detail::thread_pool::instance().set_size(n); }

/// Calls f(begin, end, t) for each non-empty range t of the static partition of [0, tasks)
/// described at the top of this file, range t on pool thread t, and waits for all of them.
template <class F>
void parallel_for(std::size_t tasks, F&& f) {
    if (tasks == 0) return;
    if (const std::size_t self = detail::pool_thread_index; self != detail::not_a_pool_thread) {
        f(std::size_t{0}, tasks, self); // nested: inline, see the top of this file
        return;
    }
    struct job {
        std::remove_reference_t<F>* f;
        std::size_t tasks;
    } j{std::addressof(f), tasks};
    detail::thread_pool::instance().run(
        tasks,
        [](void* ctx, std::size_t t, std::size_t parts) {
            const job& jb = *static_cast<job*>(ctx);
            const detail::index_range r = detail::static_range(jb.tasks, parts, t);
            (*jb.f)(r.begin, r.end, t);
        },
        &j);
}

/// Calls f(t) once on each of the num_threads() pool threads (t = 0 on the caller) and waits.
template <class F>
void on_each_thread(F&& f) {
    if (detail::pool_thread_index != detail::not_a_pool_thread)
        throw error("maso: on_each_thread cannot be called from inside parallel_for or "
                    "on_each_thread: the pool's threads are busy");
    auto* fp = std::addressof(f);
    detail::thread_pool::instance().run(
        detail::max_threads,
        [](void* ctx, std::size_t t, std::size_t) { (**static_cast<decltype(fp)*>(ctx))(t); }, &fp);
}

} // namespace maso
