// maso_test/io_files.hpp — data files written by the io tests: a temporary directory,
// plain and gzip files, and the IDX and CIFAR layouts built byte by byte from their
// published descriptions (independently of the readers under test).
#pragma once

#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace maso_test {

using bytes = std::vector<std::uint8_t>;

/// A fresh directory under the system's temporary directory, removed with its
/// contents when the object goes.
class temp_dir {
public:
    temp_dir() {
        static std::atomic<int> counter{0};
        std::random_device entropy;
        path_ = std::filesystem::temp_directory_path() /
                ("maso-io-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                 "-" + std::to_string(entropy()));
        std::filesystem::create_directories(path_);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline void write_plain(const std::filesystem::path& p, const bytes& b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    BOOST_REQUIRE_MESSAGE(out.good(), "cannot write " << p);
}

inline void write_gzip(const std::filesystem::path& p, const bytes& b) {
    gzFile f = gzopen(p.c_str(), "wb");
    BOOST_REQUIRE_MESSAGE(f != nullptr, "cannot open " << p);
    const int n = b.empty() ? 0 : gzwrite(f, b.data(), unsigned(b.size()));
    const int closed = gzclose(f);
    BOOST_REQUIRE_MESSAGE(n == int(b.size()) && closed == Z_OK, "cannot gzip " << p);
}

/// The gzip form of b, as bytes (for tests that mutate the compressed stream).
inline bytes gzip_bytes(const bytes& b, const std::filesystem::path& scratch) {
    write_gzip(scratch, b);
    std::ifstream in(scratch, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

inline void put_be32(bytes& b, std::uint32_t v) {
    b.push_back(std::uint8_t(v >> 24));
    b.push_back(std::uint8_t(v >> 16));
    b.push_back(std::uint8_t(v >> 8));
    b.push_back(std::uint8_t(v));
}

/// An IDX images file: 00 00 08 03, N, H, W (big-endian), then the pixels.
inline bytes idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w, const bytes& pixels) {
    bytes b;
    put_be32(b, 0x00000803);
    put_be32(b, n);
    put_be32(b, h);
    put_be32(b, w);
    b.insert(b.end(), pixels.begin(), pixels.end());
    return b;
}

/// An IDX labels file: 00 00 08 01, N, then the labels.
inline bytes idx_labels(const bytes& labels) {
    bytes b;
    put_be32(b, 0x00000801);
    put_be32(b, std::uint32_t(labels.size()));
    b.insert(b.end(), labels.begin(), labels.end());
    return b;
}

/// CIFAR-10 records: per image its label byte, then its 3072 pixel bytes.
inline bytes cifar10_records(const bytes& labels, const bytes& pixels) {
    bytes b;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        b.push_back(labels[i]);
        b.insert(b.end(), pixels.begin() + std::ptrdiff_t(i * 3072),
                 pixels.begin() + std::ptrdiff_t((i + 1) * 3072));
    }
    return b;
}

/// CIFAR-100 records: coarse label, fine label, 3072 pixel bytes.
inline bytes cifar100_records(const bytes& coarse, const bytes& fine, const bytes& pixels) {
    bytes b;
    for (std::size_t i = 0; i < fine.size(); ++i) {
        b.push_back(coarse[i]);
        b.push_back(fine[i]);
        b.insert(b.end(), pixels.begin() + std::ptrdiff_t(i * 3072),
                 pixels.begin() + std::ptrdiff_t((i + 1) * 3072));
    }
    return b;
}

/// n bytes from a fixed-seed generator, each below `bound`.
inline bytes random_bytes(std::size_t n, unsigned bound = 256, unsigned seed = 1) {
    std::mt19937 g(seed);
    bytes b(n);
    for (auto& x : b)
        x = std::uint8_t(g() % bound);
    return b;
}

/// The message of the E that f throws; fails the test (and returns "") if f throws
/// nothing or something else.
template <class E, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        BOOST_ERROR("wrong exception type: " << e.what());
        return "";
    }
    BOOST_ERROR("no exception");
    return "";
}

} // namespace maso_test

/// The message contains every one of the given pieces.
#define MASO_CHECK_MESSAGE_HAS(message, piece)                                                     \
    BOOST_CHECK_MESSAGE(std::string(message).find(piece) != std::string::npos,                     \
                        "\"" << (message) << "\" lacks \"" << (piece) << "\"")
