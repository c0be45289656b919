// maso_test/thread_count_guard.hpp — for tests that set the pool's thread count.
#pragma once

#include <maso/core/thread_pool.hpp>

#include <cstddef>

namespace maso_test {

/// Restores the pool's thread count however the test ends.
struct thread_count_guard {
    std::size_t saved = maso::num_threads();
    ~thread_count_guard() { maso::set_num_threads(saved); }
};

} // namespace maso_test
