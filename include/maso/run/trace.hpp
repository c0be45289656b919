// maso/run/trace.hpp — which kernels ran, recorded in an instrumented build.
//
// Built with MASO_TRACE_KERNELS defined, the runtime appends one entry per kernel it runs
// — the group, forward or backward, and the kernel's name as describe() prints it — so
// that a test can check that the kernels that run are the ones the plan names. Otherwise
// MASO_RUN_TRACE compiles to nothing.
#pragma once

#ifdef MASO_TRACE_KERNELS
#include <cstddef>
#include <vector>

namespace maso::run {
struct trace_entry {
    std::size_t group;
    bool backward;
    const char* kernel;
};
/// The entries since the last clear (one program at a time; not thread-safe).
inline std::vector<trace_entry>& kernel_trace() {
    static std::vector<trace_entry> t;
    return t;
}
} // namespace maso::run
#define MASO_RUN_TRACE(group, backward, kernel)                                                    \
    ::maso::run::kernel_trace().push_back({(group), (backward), (kernel)})
#else
#define MASO_RUN_TRACE(group, backward, kernel) ((void)0)
#endif
