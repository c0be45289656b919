// maso/core/profile.hpp — where a step's time goes, recorded in an instrumented build.
//
// Built with MASO_PROFILE_KERNELS defined, every pass the runtime runs — each kernel that
// run/trace.hpp names, and inside them the parts a layer's products are made of (the padded
// copy of the input, dW, dX) — adds its wall time, and the FLOP of the product it runs, to
// an entry keyed by group, direction and name. Time is exclusive: a part's time is taken out
// of the kernel around it, so the entries add up to the time spent in the program's passes.
// bench/step_profile.cpp reads the entries around training steps. Timing runs on the thread
// that drives the program (the pool's workers run inside the passes it times). Otherwise the
// macros compile to nothing.
//
//   MASO_RUN_PROFILE(group, backward, name, flop)   a kernel of group `group`, to the scope's end
//   MASO_RUN_PROFILE_PART(name, flop)               a part, under the kernel being timed
#pragma once

#ifdef MASO_PROFILE_KERNELS
#include <chrono>
#include <cstddef>
#include <cstring>
#include <vector>

namespace maso {

struct profile_entry {
    std::size_t group;
    bool backward;
    const char* name;
    double seconds = 0; ///< exclusive of the parts timed inside it
    double flop = 0;
    std::size_t calls = 0;
};

struct profile_record {
    std::vector<profile_entry> entries;
    /// The scopes open now, innermost last: their entry and the time their parts took.
    struct open_scope {
        std::size_t entry;
        double inner = 0;
    };
    std::vector<open_scope> open;

    std::size_t entry(std::size_t group, bool backward, const char* name) {
        for (std::size_t i = 0; i < entries.size(); ++i)
            if (entries[i].group == group && entries[i].backward == backward &&
                std::strcmp(entries[i].name, name) == 0)
                return i;
        entries.push_back({group, backward, name});
        return entries.size() - 1;
    }
    void clear() {
        entries.clear();
        open.clear();
    }
};

/// The entries since the last clear (one program at a time; not thread-safe).
inline profile_record& kernel_profile() {
    static profile_record r;
    return r;
}

class profile_scope {
public:
    profile_scope(std::size_t group, bool backward, const char* name, double flop) {
        profile_record& r = kernel_profile();
        const std::size_t e = r.entry(group, backward, name);
        r.entries[e].flop += flop;
        ++r.entries[e].calls;
        r.open.push_back({e});
        start_ = clock::now();
    }
    /// A part of the kernel whose scope is innermost (none open: group 0, forward).
    profile_scope(const char* name, double flop)
        : profile_scope(enclosing().group, enclosing().backward, name, flop) {}
    ~profile_scope() {
        const double s = std::chrono::duration<double>(clock::now() - start_).count();
        profile_record& r = kernel_profile();
        const auto scope = r.open.back();
        r.open.pop_back();
        r.entries[scope.entry].seconds += s - scope.inner;
        if (!r.open.empty()) r.open.back().inner += s;
    }
    profile_scope(const profile_scope&) = delete;
    profile_scope& operator=(const profile_scope&) = delete;

private:
    using clock = std::chrono::steady_clock;
    static profile_entry enclosing() {
        const profile_record& r = kernel_profile();
        return r.open.empty() ? profile_entry{0, false, ""} : r.entries[r.open.back().entry];
    }
    clock::time_point start_;
};

} // namespace maso

#define MASO_RUN_PROFILE_CAT2(a, b) a##b
#define MASO_RUN_PROFILE_CAT(a, b) MASO_RUN_PROFILE_CAT2(a, b)
#define MASO_RUN_PROFILE(group, backward, name, flop)                                              \
    const ::maso::profile_scope MASO_RUN_PROFILE_CAT(maso_profile_, __LINE__)(                     \
        (group), (backward), (name), double(flop))
#define MASO_RUN_PROFILE_PART(name, flop)                                                          \
    const ::maso::profile_scope MASO_RUN_PROFILE_CAT(maso_profile_, __LINE__)((name), double(flop))
#else
#define MASO_RUN_PROFILE(group, backward, name, flop) ((void)0)
#define MASO_RUN_PROFILE_PART(name, flop) ((void)0)
#endif
