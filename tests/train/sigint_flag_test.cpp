// Tests of include/maso/train/sigint_flag.hpp: SIGINT sets the flag instead of ending the
// process, a second SIGINT gets the default action back, and the handler that was there
// before comes back with the flag's end.
#include <maso/train/sigint_flag.hpp>

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace maso;

namespace {
std::sig_atomic_t seen_by_ours = 0;
void ours(int) { seen_by_ours = 1; }

void (*current_handler())(int) {
    struct sigaction now {};
    ::sigaction(SIGINT, nullptr, &now);
    return now.sa_handler;
}
} // namespace

BOOST_AUTO_TEST_CASE(sigint_sets_the_flag_and_the_process_goes_on) {
    sigint_flag flag;
    BOOST_TEST(!flag.raised());
    std::raise(SIGINT); // the handler runs before raise returns, on this thread
    BOOST_TEST(flag.raised());
    flag.clear();
    BOOST_TEST(!flag.raised());
}

BOOST_AUTO_TEST_CASE(the_previous_handler_comes_back) {
    std::signal(SIGINT, ours);
    {
        sigint_flag flag;
        BOOST_TEST(current_handler() != &ours);
    }
    BOOST_TEST(current_handler() == &ours);
    std::raise(SIGINT);
    BOOST_TEST(seen_by_ours == 1);
    std::signal(SIGINT, SIG_DFL);
}

BOOST_AUTO_TEST_CASE(a_second_sigint_has_the_default_action) {
    // In a child: the first SIGINT is a request, the second ends the process by the signal.
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        sigint_flag flag;
        std::raise(SIGINT);
        if (!flag.raised()) ::_exit(3);
        std::raise(SIGINT);
        ::_exit(0); // not reached if the default action came back
    }
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_TEST(WIFSIGNALED(status));
    BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT));
}
