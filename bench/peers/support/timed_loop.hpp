// bench/peers/support/timed_loop.hpp — the timed loop every peer case runs.
//
// Three untimed steps come first. libtorch allocates its outputs and gradients on every
// step, and the first steps grow the heap (a fresh page faulted in per 4 KiB) until glibc's
// free lists hold every size the step needs; with the malloc tunables that is then the
// steady state, and without them the faults recur on every step (PERFORMANCE.md's malloc
// trap). Google Benchmark 1.7 picks its iteration count from the first iterations, so a
// case that took its first step in the loop would report that step: 30× slower for a
// swish over 16 Mi floats. maso's models allocate nothing after instantiate; the warm-up
// only brings their buffers and the pool's threads up, as it does for the peers.
#pragma once

#include <benchmark/benchmark.h>

namespace maso_peers {

inline constexpr int warm_up_steps = 3;

template <class Step>
void timed_loop(benchmark::State& state, Step&& step) {
    for (int i = 0; i < warm_up_steps; ++i)
        step();
    for (auto _ : state) {
        step();
        benchmark::ClobberMemory();
    }
}

} // namespace maso_peers
