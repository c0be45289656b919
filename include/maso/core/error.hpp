// maso/core/error.hpp — the exceptions maso throws at run time.
//
// Compile-time mistakes are static_asserts carrying an E-code (docs/errors.md);
// everything that can only be known at run time — a value out of range, a size
// mismatch between spans, a bad file — raises a subclass of maso::error whose
// message names the offending value or file and says what is wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace maso {

/// Base of every exception maso throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A value given to maso (a parameter, a β, a slope) is outside its domain.
class value_error : public error {
public:
    using error::error;
};

/// Two runtime extents that must agree do not (span lengths, batch sizes).
class size_error : public error {
public:
    using error::error;
};

/// A computed value is not finite: a loss, a batch statistic or a parameter has become NaN
/// or infinite. The message names the node and what was found (docs/errors.md).
class numeric_error : public error {
public:
    using error::error;
};

/// A file is missing, unreadable, truncated or malformed (a data set, a checkpoint).
/// The message is "maso: <path>: <what is wrong>", so the user sees which file to
/// replace and why; path() returns the path alone, for programs that retry or skip.
class file_error : public error {
public:
    file_error(const std::string& path, const std::string& problem)
        : error("maso: " + path + ": " + problem), path_(path) {}

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

namespace detail {
inline void check_same_size(std::size_t expected, std::size_t got, const char* what) {
    if (expected != got)
        throw size_error(std::string("maso: ") + what + " has " + std::to_string(got) +
                         " elements, expected " + std::to_string(expected));
}
} // namespace detail

} // namespace maso
