// maso/io/detail/input_file.hpp — reading a data file, plain or gzip-compressed.
// Internal to io/: include <maso/io/idx.hpp> or <maso/io/cifar.hpp>.
//
// zlib's gzread reads both forms transparently (a file without the gzip magic is
// read as it is), checks the CRC and length at the end of each gzip member, and
// reports a stream that stops early. Every failure becomes a maso::file_error
// naming the path.
//
// Sizes come from files that may be corrupt, so nothing is allocated from a
// number a header announces: capacity() bounds what the file can yield (exact for
// a plain file; deflate expands at most 1032:1, so 1032 × the stored size for a
// gzip file), and read_exactly() grows its buffer as bytes actually arrive.
#pragma once

#include <maso/core/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace maso::io::detail {

/// A file that yields more bytes than this (after decompression) is refused: no
/// data set maso reads comes close, and a gzip bomb must not exhaust memory.
inline constexpr std::uint64_t max_file_bytes = std::uint64_t(1) << 32;

class input_file {
public:
    /// Opens `p`; throws file_error if it does not exist, is not a regular file or
    /// cannot be opened.
    explicit input_file(const std::filesystem::path& p) : path_(p.string()) {
        std::error_code ec;
        const auto st = std::filesystem::status(p, ec);
        if (!std::filesystem::exists(st)) fail("no such file");
        if (!std::filesystem::is_regular_file(st)) fail("not a regular file");
        stored_ = std::filesystem::file_size(p, ec);
        if (ec) fail("cannot read its size: " + ec.message());
        errno = 0;
        file_ = gzopen(path_.c_str(), "rb");
        if (file_ == nullptr)
            fail(std::string("cannot open: ") +
                 (errno ? std::strerror(errno) : "zlib could not allocate its state"));
        gzbuffer(file_, 1u << 17); // before the first read; larger reads, fewer calls
        // gzdirect() looks at the first bytes: 0 for a gzip stream, 1 for a plain file.
        compressed_ = gzdirect(file_) == 0;
    }

    input_file(const input_file&) = delete;
    input_file& operator=(const input_file&) = delete;
    ~input_file() { gzclose(file_); }

    const std::string& path() const noexcept { return path_; }
    bool compressed() const noexcept { return compressed_; }
    /// Bytes on disk.
    std::uint64_t stored_bytes() const noexcept { return stored_; }
    /// An upper bound of the bytes the whole file yields, from its start.
    std::uint64_t capacity() const noexcept {
        if (!compressed_) return stored_;
        return std::min<std::uint64_t>(max_file_bytes, stored_ * 1032 + 1024);
    }

    /// Reads up to out.size() bytes; fewer only at the end of the data. Throws
    /// file_error on a read error or corrupt gzip data.
    std::size_t read(std::span<std::uint8_t> out) {
        std::size_t got = 0;
        while (got < out.size()) {
            const auto chunk = unsigned(std::min<std::size_t>(out.size() - got, 1u << 30));
            const int n = gzread(file_, out.data() + got, chunk);
            if (n < 0) fail_stream();
            if (n == 0) break;
            got += std::size_t(n);
        }
        read_ += got;
        return got;
    }

    /// Reads exactly n bytes of `what` ("images", …) or throws "truncated: expected
    /// <n> bytes of <what>, got <k>". The buffer grows as the bytes arrive, so a
    /// corrupt n costs no more memory than the data the file really holds.
    std::vector<std::uint8_t> read_exactly(std::uint64_t n, const char* what) {
        if (n > max_file_bytes) too_large();
        std::vector<std::uint8_t> buf;
        buf.reserve(std::size_t(std::min<std::uint64_t>(n, 1u << 24)));
        constexpr std::size_t step = 1u << 22;
        while (buf.size() < n) {
            const std::size_t old = buf.size();
            buf.resize(old + std::size_t(std::min<std::uint64_t>(n - old, step)));
            const std::size_t got = read(std::span(buf).subspan(old));
            if (old + got < buf.size()) truncated(n, old + got, what);
        }
        return buf;
    }

    /// Everything left, up to max_file_bytes. The chunks start at 64 KiB at most (a
    /// small plain file: its size + 1, which also sees the end) and double up to
    /// 4 MiB, so a small file costs no large buffer and a large one few reads.
    std::vector<std::uint8_t> read_rest() {
        std::vector<std::uint8_t> buf;
        const std::uint64_t left = capacity() > read_ ? capacity() - read_ : 0;
        std::size_t chunk = std::size_t(std::min<std::uint64_t>(left + 1, 1u << 16));
        for (;;) {
            const std::size_t old = buf.size();
            buf.resize(old + chunk);
            const std::size_t got = read(std::span(buf).subspan(old));
            buf.resize(old + got);
            if (got < chunk) break;
            if (buf.size() > max_file_bytes) too_large();
            chunk = std::min<std::size_t>(2 * chunk, 1u << 22);
        }
        return buf;
    }

    /// True if no byte is left. For a gzip file, reaching the end also checks the
    /// last member's CRC and length, so a corrupt payload is reported here.
    bool at_end() {
        std::uint8_t byte;
        return read(std::span(&byte, 1)) == 0;
    }

    /// Bytes read so far.
    std::uint64_t position() const noexcept { return read_; }

    [[noreturn]] void fail(const std::string& problem) const { throw file_error(path_, problem); }

private:
    [[noreturn]] void fail_stream() const {
        int code = Z_OK;
        const char* message = gzerror(file_, &code);
        if (code == Z_ERRNO) fail(std::string("read error: ") + std::strerror(errno));
        std::string text = message ? message : "unknown zlib error";
        // zlib prefixes its message with the path, which file_error already gives.
        if (text.rfind(path_ + ": ", 0) == 0) text.erase(0, path_.size() + 2);
        fail("corrupt gzip data: " + text);
    }

    [[noreturn]] void truncated(std::uint64_t expected, std::uint64_t got, const char* what) const {
        int code = Z_OK;
        gzerror(file_, &code);
        fail("truncated: expected " + std::to_string(expected) + " bytes of " + what + ", got " +
             std::to_string(got) + (code == Z_BUF_ERROR ? " (the gzip stream ends early)" : ""));
    }

    [[noreturn]] void too_large() const {
        fail("more than " + std::to_string(max_file_bytes) +
             " bytes of data, more than maso reads from one file");
    }

    std::string path_;
    gzFile file_ = nullptr;
    std::uint64_t stored_ = 0;
    std::uint64_t read_ = 0;
    bool compressed_ = false;
};

} // namespace maso::io::detail
