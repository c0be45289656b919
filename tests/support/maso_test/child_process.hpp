// maso_test/child_process.hpp — runs a program as a child process and collects what it
// prints, for the tests of dsl_examples' command-line programs; optionally sends it SIGINT
// once its standard output satisfies a condition (a Ctrl-C at a chosen moment).
#pragma once

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <functional>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace maso_test {

struct outcome {
    int status = -1; ///< the exit status, or 128 + the signal that ended it
    std::string out, err;
};

/// Runs `program` with `args`; with `interrupt_when`, sends SIGINT once (the first time the
/// standard output read so far satisfies it). A child silent for two minutes fails the test.
inline outcome run_child(const std::string& program, const std::vector<std::string>& args,
                         const std::function<bool(const std::string&)>& interrupt_when = {}) {
    int out_pipe[2], err_pipe[2];
    BOOST_REQUIRE(::pipe(out_pipe) == 0 && ::pipe(err_pipe) == 0);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
            ::close(fd);
        std::vector<char*> argv{const_cast<char*>(program.c_str())};
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(program.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    outcome o;
    bool interrupted = false;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    for (int open = 2; open > 0;) {
        BOOST_REQUIRE(::poll(fds, 2, 120'000) > 0);
        for (int k = 0; k < 2; ++k) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP))) continue;
            char buffer[4096];
            const ssize_t n = ::read(fds[k].fd, buffer, sizeof buffer);
            if (n <= 0) {
                ::close(fds[k].fd);
                fds[k].fd = -1;
                --open;
                continue;
            }
            (k == 0 ? o.out : o.err).append(buffer, std::size_t(n));
        }
        if (interrupt_when && !interrupted && interrupt_when(o.out)) {
            ::kill(child, SIGINT);
            interrupted = true;
        }
    }
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return o;
}

} // namespace maso_test
