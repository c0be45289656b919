// maso/train/sigint_flag.hpp — Ctrl-C as a request to stop, not a kill.
//
//   maso::sigint_flag stop;                // SIGINT now sets a flag
//   for (…) {
//       train_one_step();
//       if (stop.raised()) { save(); break; } // the step in progress always finishes
//   }                                      // ~sigint_flag: the previous handler is back
//
// A training loop must not die in the middle of an optimiser step or a checkpoint write:
// the parameters would be half-updated and the last checkpoint would be the only copy.
// So while a sigint_flag exists, SIGINT only sets an atomic flag that the loop reads
// between steps. The handler also writes one line to stderr (write(2) is async-signal-safe,
// printf is not) so that the user sees the key was heard, and puts back the default action
// (SA_RESETHAND): a second Ctrl-C kills the process at once, for a step that hangs.
//
// One process-wide flag, since a handler can reach nothing else: making a sigint_flag clears
// it. Each sigint_flag puts back the handler it replaced when it is destroyed.
#pragma once

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace maso {

namespace detail {
// Lock-free, so that the handler may store to it (a std::atomic that takes a lock is not
// async-signal-safe).
inline std::atomic<bool> sigint_seen{false};
static_assert(std::atomic<bool>::is_always_lock_free);

inline void on_sigint(int) {
    sigint_seen.store(true, std::memory_order_relaxed);
    static constexpr char line[] =
        "\nmaso: Ctrl-C: stopping after this step (Ctrl-C again quits at once)\n";
    // Nothing to do if stderr is gone: the flag is what matters.
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line, sizeof line - 1);
}
} // namespace detail

class sigint_flag {
public:
    /// Installs the handler; the flag starts clear.
    sigint_flag() noexcept {
        detail::sigint_seen.store(false, std::memory_order_relaxed);
        struct sigaction action {};
        action.sa_handler = detail::on_sigint;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND | SA_RESTART;
        installed_ = ::sigaction(SIGINT, &action, &previous_) == 0;
    }
    sigint_flag(const sigint_flag&) = delete;
    sigint_flag& operator=(const sigint_flag&) = delete;

    /// Puts back the handler that was there before.
    ~sigint_flag() {
        if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
    }

    /// Whether SIGINT came since construction or the last clear().
    bool raised() const noexcept { return detail::sigint_seen.load(std::memory_order_relaxed); }
    void clear() noexcept { detail::sigint_seen.store(false, std::memory_order_relaxed); }

private:
    struct sigaction previous_ {};
    bool installed_ = false;
};

} // namespace maso
