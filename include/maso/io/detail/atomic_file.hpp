// maso/io/detail/atomic_file.hpp — writing a file so that it is either the old one or the
// complete new one, never a mix. Internal to io/: include <maso/io/safetensors.hpp>.
//
// The bytes go to a temporary file in the target's directory (a rename is atomic only
// within one file system), which is flushed to the disk (fsync) before it is renamed over
// the target; the directory is synced after, so that the rename itself survives a power
// cut. On any failure the temporary file is removed and the target is left as it was.
// POSIX only, as the rest of maso.
#pragma once

#include <maso/core/error.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace maso::io::detail {

/// The temporary file of one write: removed when the write did not complete.
class temporary_file {
public:
    explicit temporary_file(const std::filesystem::path& target) : target_(target) {
        static std::atomic<unsigned> counter{0};
        const std::filesystem::path dir =
            target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
        // O_EXCL: never write into a file another writer (or an attacker's link) made.
        for (int attempt = 0; fd_ < 0; ++attempt) {
            path_ = dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) +
                           "." + std::to_string(counter++));
            fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd_ < 0 && (errno != EEXIST || attempt == 100))
                fail("cannot create a temporary file beside it: ");
        }
        // A new checkpoint keeps the permissions of the one it replaces (a private file
        // stays private); otherwise the umask decides, as for any new file.
        struct stat old {};
        if (::stat(target.c_str(), &old) == 0) ::fchmod(fd_, old.st_mode & 07777);
    }
    temporary_file(const temporary_file&) = delete;
    temporary_file& operator=(const temporary_file&) = delete;
    ~temporary_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }

    void write(std::span<const std::uint8_t> bytes) {
        while (!bytes.empty()) {
            const ::ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("cannot write: ");
            bytes = bytes.subspan(std::size_t(n));
        }
    }

    /// Flushes the file to the disk, renames it over the target and syncs the directory.
    void commit() {
        if (::fsync(fd_) != 0) fail("cannot write: ");
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) fail("cannot write: ");
        if (::rename(path_.c_str(), target_.c_str()) != 0)
            fail("cannot rename the temporary file over it: ");
        committed_ = true;
        // The new file is complete and in place; a directory that cannot be synced (some file
        // systems refuse) only leaves the rename to the next sync, so it is not an error.
        const std::filesystem::path dir =
            target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
        const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0) {
            ::fsync(d);
            ::close(d);
        }
    }

private:
    [[noreturn]] void fail(const char* what) const {
        throw file_error(target_.string(), what + std::string(std::strerror(errno)));
    }

    std::filesystem::path target_, path_;
    int fd_ = -1;
    bool committed_ = false;
};

} // namespace maso::io::detail
