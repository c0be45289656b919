// maso/plan/fuse.hpp — execution policies: fused (the default) or one pass per node.
//
// fuse::all groups every `contraction ∘ normalization? ∘ elementwise* ∘ window?`
// run into one kernel (plan/group.hpp); fuse::none runs each node's own
// forward/backward over materialised buffers — the baseline of the benchmarks
// and the oracle of the tests. Both compute the same function and gradients.
#pragma once

namespace maso::fuse {

struct all_t {
    static constexpr bool fused = true;
    static constexpr const char* name() noexcept { return "fuse::all"; }
};
struct none_t {
    static constexpr bool fused = false;
    static constexpr const char* name() noexcept { return "fuse::none"; }
};

inline constexpr all_t all{};
inline constexpr none_t none{};

} // namespace maso::fuse
