// bench/peers/support/torch_environment.hpp — thread counts for maso and every peer runtime,
// and libtorch's part of the benchmark context.
#pragma once

#include "peer_environment.hpp"

#include <maso/core/thread_pool.hpp>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

namespace maso_peers {

/// What libtorch does before anyone sets a thread count: read once, at start-up.
inline int torch_default_threads() {
    static const int n = torch::get_num_threads();
    return n;
}

/// maso's pool, libtorch's (and oneDNN's) OpenMP and OpenBLAS's pthreads, all at n, each read
/// back: a count a runtime refuses or does not take skips the case, and the counts each runtime
/// reports go into the case's counters (maso_threads, torch_threads, blas_threads), so that
/// the results show every side ran at n.
inline bool use_threads(benchmark::State& state, int n) {
    try {
        maso::set_num_threads(std::size_t(n));
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return false;
    }
    torch::set_num_threads(n);
    set_blas_threads(n);
    const int ours = int(maso::num_threads()), torch_n = torch::get_num_threads(),
              blas_n = blas_threads(n);
    state.counters["maso_threads"] = ours;
    state.counters["torch_threads"] = torch_n;
    state.counters["blas_threads"] = blas_n;
    if (ours != n || torch_n != n || blas_n != n) {
        state.SkipWithError(("thread counts not taken: asked " + std::to_string(n) + ", maso " +
                             std::to_string(ours) + ", libtorch " + std::to_string(torch_n) +
                             ", OpenBLAS " + std::to_string(blas_n))
                                .c_str());
        return false;
    }
    return true;
}

/// libtorch's version, its default thread count and its parallel backend, beside the
/// environment (peer_environment.hpp).
inline void add_torch_context() {
    benchmark::AddCustomContext("peer_libtorch", std::to_string(TORCH_VERSION_MAJOR) + "." +
                                                     std::to_string(TORCH_VERSION_MINOR) +
                                                     " (Debian libtorch-dev)");
    benchmark::AddCustomContext("peer_libtorch_default_threads",
                                std::to_string(torch_default_threads()));
    add_environment_context();
}

} // namespace maso_peers
