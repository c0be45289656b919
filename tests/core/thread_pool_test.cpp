// Tests of include/maso/core/thread_pool.hpp: the static partition, thread identity, errors,
// exceptions, nesting, no allocation per call, and many calls in a row (lost wake-ups hang).
// Nothing here asserts timing.
#include <maso/core/thread_pool.hpp>

#include <maso_test/count_allocations.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// The default count comes from MASO_NUM_THREADS, read once at the first use. Both reads happen
// during static initialisation, before any test case can call set_num_threads.
struct env_reads {
    std::size_t first, after_change;
};
const env_reads env = [] {
    ::setenv("MASO_NUM_THREADS", "3", 1);
    const std::size_t first = maso::num_threads();
    ::setenv("MASO_NUM_THREADS", "7", 1);
    return env_reads{first, maso::num_threads()};
}();

const std::size_t thread_counts[] = {1, 2, 3, 5};
const std::size_t task_counts[] = {0, 1, 2, 3, 7, 100};

// One call of f, as parallel_for made it.
struct call {
    std::size_t begin, end;
    std::thread::id thread;
};

// Runs parallel_for(tasks) and returns the call of each t (each t must come once).
std::vector<call> record(std::size_t tasks, std::vector<std::atomic<int>>& covered) {
    std::mutex m;
    std::vector<call> calls(maso::num_threads());
    std::vector<int> times(maso::num_threads(), 0);
    bool t_out_of_range = false; // Boost.Test checks stay on the main thread
    maso::parallel_for(tasks, [&](std::size_t begin, std::size_t end, std::size_t t) {
        for (std::size_t i = begin; i < end; ++i)
            ++covered[i];
        const std::lock_guard lock(m);
        if (t >= calls.size()) {
            t_out_of_range = true;
            return;
        }
        ++times[t];
        calls[t] = {begin, end, std::this_thread::get_id()};
    });
    BOOST_REQUIRE(!t_out_of_range);
    const std::size_t parts = std::min(tasks, maso::num_threads());
    for (std::size_t t = 0; t < times.size(); ++t)
        BOOST_CHECK_EQUAL(times[t], t < parts ? 1 : 0);
    calls.resize(parts);
    return calls;
}

std::string message_of(auto&& f) {
    try {
        f();
    } catch (const maso::value_error& e) {
        return e.what();
    }
    return "(no value_error)";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(default_count_comes_from_the_environment_read_once) {
    BOOST_CHECK_EQUAL(env.first, 3u);
    BOOST_CHECK_EQUAL(env.after_change, 3u);
}

BOOST_AUTO_TEST_CASE(every_task_is_covered_once_by_a_static_partition) {
    for (const std::size_t n : thread_counts) {
        maso::set_num_threads(n);
        BOOST_REQUIRE_EQUAL(maso::num_threads(), n);
        for (const std::size_t tasks : task_counts) {
            BOOST_TEST_CONTEXT("threads " << n << ", tasks " << tasks) {
                std::vector<std::atomic<int>> covered(tasks);
                const std::vector<call> calls = record(tasks, covered);
                for (std::size_t i = 0; i < tasks; ++i)
                    BOOST_CHECK_EQUAL(covered[i].load(), 1);
                if (tasks == 0) continue;
                // Contiguous, in order of t, sizes near-equal with the larger ones first.
                const std::size_t parts = calls.size(), size = tasks / parts;
                BOOST_CHECK_EQUAL(parts, std::min(tasks, n));
                std::size_t next = 0;
                for (std::size_t t = 0; t < parts; ++t) {
                    BOOST_CHECK_EQUAL(calls[t].begin, next);
                    BOOST_CHECK_EQUAL(calls[t].end - calls[t].begin,
                                      size + (t < tasks % parts ? 1 : 0));
                    next = calls[t].end;
                }
                BOOST_CHECK_EQUAL(next, tasks);
                // Range 0 on the caller, every other range on its own thread.
                BOOST_CHECK(calls[0].thread == std::this_thread::get_id());
                std::set<std::thread::id> ids;
                for (const call& c : calls)
                    ids.insert(c.thread);
                BOOST_CHECK_EQUAL(ids.size(), parts);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(range_t_always_runs_on_pool_thread_t) {
    maso::set_num_threads(3);
    std::vector<std::thread::id> each(3);
    maso::on_each_thread([&](std::size_t t) { each[t] = std::this_thread::get_id(); });
    for (int k = 0; k < 20; ++k) {
        std::vector<std::atomic<int>> covered(7);
        const std::vector<call> calls = record(7, covered);
        for (std::size_t t = 0; t < calls.size(); ++t)
            BOOST_CHECK(calls[t].thread == each[t]);
    }
}

BOOST_AUTO_TEST_CASE(zero_tasks_do_not_call_f) {
    for (const std::size_t n : thread_counts) {
        maso::set_num_threads(n);
        int calls = 0;
        maso::parallel_for(0, [&](std::size_t, std::size_t, std::size_t) { ++calls; });
        BOOST_CHECK_EQUAL(calls, 0);
    }
}

BOOST_AUTO_TEST_CASE(on_each_thread_visits_every_thread_once) {
    for (const std::size_t n : thread_counts) {
        maso::set_num_threads(n);
        std::mutex m;
        std::vector<int> times(n, 0);
        std::set<std::thread::id> ids;
        std::thread::id first;
        bool t_out_of_range = false;
        maso::on_each_thread([&](std::size_t t) {
            const std::lock_guard lock(m);
            if (t >= n) {
                t_out_of_range = true;
                return;
            }
            ++times[t];
            ids.insert(std::this_thread::get_id());
            if (t == 0) first = std::this_thread::get_id();
        });
        BOOST_REQUIRE(!t_out_of_range);
        for (std::size_t t = 0; t < n; ++t)
            BOOST_CHECK_EQUAL(times[t], 1);
        BOOST_CHECK_EQUAL(ids.size(), n);
        BOOST_CHECK(first == std::this_thread::get_id());
    }
}

BOOST_AUTO_TEST_CASE(resizing_keeps_the_pool_working) {
    for (const std::size_t n : {5u, 2u, 4u, 1u, 3u}) {
        maso::set_num_threads(n);
        std::atomic<std::size_t> visits{0};
        maso::on_each_thread([&](std::size_t) { ++visits; });
        BOOST_CHECK_EQUAL(visits.load(), n);
        std::vector<std::atomic<int>> covered(100);
        record(100, covered);
        for (const auto& c : covered)
            BOOST_CHECK_EQUAL(c.load(), 1);
    }
}

BOOST_AUTO_TEST_CASE(bad_thread_counts_are_rejected) {
    maso::set_num_threads(2);
    const std::string zero = message_of([] { maso::set_num_threads(0); });
    BOOST_CHECK_MESSAGE(contains(zero, "set_num_threads(0)"), zero);
    const std::string big = message_of([] { maso::set_num_threads(257); });
    BOOST_CHECK_MESSAGE(contains(big, "set_num_threads(257)") && contains(big, "256"), big);
    BOOST_CHECK_EQUAL(maso::num_threads(), 2u);
}

BOOST_AUTO_TEST_CASE(parse_thread_count_accepts_1_to_256_only) {
    using maso::detail::parse_thread_count;
    BOOST_CHECK_EQUAL(parse_thread_count("1", "MASO_NUM_THREADS"), 1u);
    BOOST_CHECK_EQUAL(parse_thread_count("2", "MASO_NUM_THREADS"), 2u);
    BOOST_CHECK_EQUAL(parse_thread_count("256", "MASO_NUM_THREADS"), 256u);
    for (const char* bad :
         {"", "0", "two", "3x", "-1", "999", "257", " 4", "+4", "4 ", "99999999999999999999999"}) {
        const std::string m = message_of([&] { parse_thread_count(bad, "MASO_NUM_THREADS"); });
        BOOST_CHECK_MESSAGE(
            contains(m, "MASO_NUM_THREADS") && contains(m, "\"" + std::string(bad) + "\""), m);
    }
}

BOOST_AUTO_TEST_CASE(exceptions_reach_the_caller_after_every_range) {
    for (const std::size_t n : thread_counts) {
        maso::set_num_threads(n);
        BOOST_TEST_CONTEXT("threads " << n) {
            // Ranges 1 and 2 throw (where they exist); the lowest t wins.
            std::atomic<int> finished{0};
            try {
                maso::parallel_for(5, [&](std::size_t, std::size_t, std::size_t t) {
                    ++finished;
                    if (t == 1 || t == 2) throw std::runtime_error("range " + std::to_string(t));
                });
                BOOST_CHECK_EQUAL(n, 1u);
            } catch (const std::runtime_error& e) {
                BOOST_CHECK_EQUAL(std::string(e.what()), "range 1");
            }
            BOOST_CHECK_EQUAL(static_cast<std::size_t>(finished.load()),
                              std::min<std::size_t>(5, n));

            // The caller's own range throws while the workers finish theirs.
            finished = 0;
            BOOST_CHECK_THROW(maso::parallel_for(5,
                                                 [&](std::size_t, std::size_t, std::size_t t) {
                                                     if (t == 0) throw std::logic_error("zero");
                                                     ++finished;
                                                 }),
                              std::logic_error);
            BOOST_CHECK_EQUAL(static_cast<std::size_t>(finished.load()),
                              std::min<std::size_t>(5, n) - 1);

            // And the pool still works.
            std::vector<std::atomic<int>> covered(7);
            record(7, covered);
            for (const auto& c : covered)
                BOOST_CHECK_EQUAL(c.load(), 1);
        }
    }
}

BOOST_AUTO_TEST_CASE(nested_calls_run_inline_on_the_calling_thread) {
    for (const std::size_t n : thread_counts) {
        maso::set_num_threads(n);
        BOOST_TEST_CONTEXT("threads " << n) {
            std::vector<std::atomic<int>> covered(4 * 10);
            std::atomic<int> inner_calls{0}, mismatches{0}, refused{0};
            maso::parallel_for(4, [&](std::size_t begin, std::size_t end, std::size_t t) {
                const std::thread::id outer = std::this_thread::get_id();
                for (std::size_t i = begin; i < end; ++i)
                    maso::parallel_for(10, [&](std::size_t b, std::size_t e, std::size_t u) {
                        ++inner_calls;
                        // One range, the whole of it, on this thread, under this thread's t.
                        if (b != 0 || e != 10 || u != t || std::this_thread::get_id() != outer)
                            ++mismatches;
                        for (std::size_t k = b; k < e; ++k)
                            ++covered[i * 10 + k];
                    });
                // What cannot be honoured from inside a task fails instead of deadlocking.
                try {
                    maso::on_each_thread([](std::size_t) {});
                } catch (const maso::error&) {
                    ++refused;
                }
                try {
                    maso::set_num_threads(2);
                } catch (const maso::error&) {
                    ++refused;
                }
            });
            BOOST_CHECK_EQUAL(inner_calls.load(), 4);
            BOOST_CHECK_EQUAL(mismatches.load(), 0);
            BOOST_CHECK_EQUAL(static_cast<std::size_t>(refused.load()),
                              2 * std::min<std::size_t>(4, n));
            for (const auto& c : covered)
                BOOST_CHECK_EQUAL(c.load(), 1);
            BOOST_CHECK_EQUAL(maso::num_threads(), n);
        }
    }
}

BOOST_AUTO_TEST_CASE(no_allocation_per_call_after_warm_up) {
    for (const std::size_t n : thread_counts) {
        maso::set_num_threads(n);
        std::vector<float> x(1000, 1.0f);
        auto scale = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t i = begin; i < end; ++i)
                x[i] *= 0.5f;
        };
        auto touch = [&](std::size_t t) { x[t] += 1.0f; };
        maso::parallel_for(x.size(), scale); // warm-up: starts the workers
        maso::on_each_thread(touch);
        const long before = maso_test::allocations();
        for (int k = 0; k < 100; ++k) {
            maso::parallel_for(x.size(), scale);
            maso::parallel_for(3, scale);
            maso::on_each_thread(touch);
        }
        const long made = maso_test::allocations() - before;
        BOOST_CHECK_MESSAGE(made == 0, made << " allocations with " << n << " threads");
    }
}

BOOST_AUTO_TEST_CASE(many_tiny_calls_complete) {
    for (const std::size_t n : {2u, 5u}) {
        maso::set_num_threads(n);
        std::vector<std::atomic<long>> per_thread(n);
        for (int k = 0; k < 10000; ++k)
            maso::parallel_for(n, [&](std::size_t b, std::size_t e, std::size_t t) {
                per_thread[t] += static_cast<long>(e - b);
            });
        for (std::size_t t = 0; t < n; ++t)
            BOOST_CHECK_EQUAL(per_thread[t].load(), 10000);
    }
}

BOOST_AUTO_TEST_CASE(calls_from_two_user_threads_are_serialised) {
    maso::set_num_threads(3);
    std::vector<std::atomic<int>> covered_a(50), covered_b(50);
    std::atomic<int> running{0}, overlaps{0};
    auto job = [&](std::vector<std::atomic<int>>& covered) {
        for (int k = 0; k < 500; ++k)
            maso::parallel_for(covered.size(), [&](std::size_t b, std::size_t e, std::size_t) {
                // At most one job's ranges run at once: 3 threads, so at most 3 ranges.
                if (++running > 3) ++overlaps;
                for (std::size_t i = b; i < e; ++i)
                    ++covered[i];
                --running;
            });
    };
    std::thread other([&] { job(covered_b); });
    job(covered_a);
    other.join();
    for (std::size_t i = 0; i < 50; ++i) {
        BOOST_CHECK_EQUAL(covered_a[i].load(), 500);
        BOOST_CHECK_EQUAL(covered_b[i].load(), 500);
    }
    BOOST_CHECK_EQUAL(overlaps.load(), 0);
}
