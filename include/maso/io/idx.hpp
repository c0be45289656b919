// maso/io/idx.hpp — MNIST and Fashion-MNIST: the IDX format, plain or gzip-compressed.
//
// An IDX file is a big-endian header then the data:
//   images  magic 0x00000803 (unsigned bytes, 3 dimensions), N, H, W, then N·H·W pixels
//   labels  magic 0x00000801 (unsigned bytes, 1 dimension),  N,       then N labels
// Pixels become floats p/255 (correctly rounded) in [0, 1]; images are 1×H×W.
//
//   auto [train, test] = maso::io::load_mnist("/usr/share/datasets/fashion-mnist");
//   auto set = maso::io::load_idx(dir / "t10k-images-idx3-ubyte.gz",
//                                 dir / "t10k-labels-idx1-ubyte.gz");
//
// Every problem with a file is a maso::file_error naming it: missing, wrong magic,
// zero dimensions, a header announcing more data than the file holds (checked
// against the file's size before anything is allocated), truncated data, bytes
// after the data, corrupt gzip data, a label outside [0, classes), or image and
// label files that disagree on N. Both headers are checked before either payload
// is read, so a mismatched pair fails at once.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/dataset.hpp>
#include <maso/io/detail/byte_to_unit.hpp>
#include <maso/io/detail/input_file.hpp>
#include <maso/io/train_test.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace maso::io {

namespace detail {

inline constexpr std::uint32_t idx_images_magic = 0x00000803;
inline constexpr std::uint32_t idx_labels_magic = 0x00000801;

inline std::uint32_t big_endian_u32(const std::uint8_t* p) noexcept {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 |
           std::uint32_t(p[3]);
}

inline std::string hex32(std::uint32_t v) {
    char s[11];
    std::snprintf(s, sizeof s, "0x%08x", unsigned(v));
    return s;
}

/// Reads the header of an IDX file of unsigned bytes with `dims` dimensions and
/// returns them; checks the magic and that no dimension is zero.
template <std::size_t Dims>
std::array<std::uint64_t, Dims> read_idx_header(input_file& f) {
    constexpr std::uint32_t expected = Dims == 3 ? idx_images_magic : idx_labels_magic;
    constexpr const char* kind = Dims == 3 ? "IDX images: unsigned bytes, 3 dimensions"
                                           : "IDX labels: unsigned bytes, 1 dimension";
    // The magic first, alone: a labels file passed as images is shorter than an
    // images header, and "wrong magic" is the message that helps.
    constexpr std::size_t header_bytes = 4 * (1 + Dims);
    const auto short_header = [&](std::size_t got) {
        f.fail("truncated: expected " + std::to_string(header_bytes) + " bytes of header, got " +
               std::to_string(got));
    };
    std::array<std::uint8_t, 4> head;
    if (const std::size_t got = f.read(head); got < head.size()) short_header(got);
    const std::uint32_t magic = big_endian_u32(head.data());
    if (magic != expected) {
        std::string hint;
        if (magic == idx_labels_magic) hint = "; this is an IDX labels file";
        if (magic == idx_images_magic) hint = "; this is an IDX images file";
        f.fail("wrong magic number " + hex32(magic) + ", expected " + hex32(expected) + " (" +
               kind + ")" + hint);
    }
    std::array<std::uint8_t, 4 * Dims> raw;
    if (const std::size_t got = f.read(raw); got < raw.size()) short_header(4 + got);
    std::array<std::uint64_t, Dims> dims;
    for (std::size_t d = 0; d < Dims; ++d)
        dims[d] = big_endian_u32(raw.data() + 4 * d);
    for (std::size_t d = 0; d < Dims; ++d)
        if (dims[d] == 0)
            f.fail(Dims == 3 ? "zero dimension: the header announces " + std::to_string(dims[0]) +
                                   " images of " + std::to_string(dims[1]) + "x" +
                                   std::to_string(dims[2]) + " pixels"
                             : std::string("zero dimension: the header announces 0 labels"));
    return dims;
}

/// Refuses a payload of `bytes` that the file cannot hold, before allocating it.
inline void check_capacity(const input_file& f, std::uint64_t bytes, const char* what) {
    const std::uint64_t header = f.position();
    const std::uint64_t room = f.capacity() > header ? f.capacity() - header : 0;
    if (bytes <= room) return;
    if (!f.compressed())
        f.fail("truncated: expected " + std::to_string(bytes) + " bytes of " + what + ", got " +
               std::to_string(room));
    f.fail("malformed header: it announces " + std::to_string(bytes) + " bytes of " + what +
           ", more than a gzip file of " + std::to_string(f.stored_bytes()) + " bytes can hold");
}

inline void check_end(input_file& f, const std::string& what) {
    if (!f.at_end()) f.fail("malformed: more bytes after the " + what + " the header announces");
}

} // namespace detail

/// Loads an IDX images file and its labels file (each plain or gzip-compressed)
/// into a data set of 1×H×W images with pixels in [0, 1]. `classes` is the number
/// of classes; every label must be below it. Throws file_error naming the file at
/// fault (see the header comment), value_error for classes = 0.
inline dataset load_idx(const std::filesystem::path& images_path,
                        const std::filesystem::path& labels_path, std::size_t classes = 10) {
    if (classes == 0) throw value_error("maso: load_idx: classes must be at least 1");
    detail::input_file images(images_path);
    const auto [n, h, w] = detail::read_idx_header<3>(images);
    detail::input_file labels(labels_path);
    const auto [labels_n] = detail::read_idx_header<1>(labels);
    if (labels_n != n)
        labels.fail(std::to_string(labels_n) + " labels for the " + std::to_string(n) +
                    " images of " + images.path());

    // h, w < 2³², so h·w fits; n·(h·w) may not, hence the division.
    const std::uint64_t pixels = h * w;
    if (pixels > detail::max_file_bytes / n)
        images.fail("malformed header: it announces " + std::to_string(n) + " images of " +
                    std::to_string(h) + "x" + std::to_string(w) + " pixels, more than " +
                    std::to_string(detail::max_file_bytes) + " bytes");
    detail::check_capacity(images, n * pixels, "images");
    detail::check_capacity(labels, n, "labels");

    const auto image_bytes = images.read_exactly(n * pixels, "images");
    detail::check_end(images, std::to_string(n) + " images");
    const auto label_bytes = labels.read_exactly(n, "labels");
    detail::check_end(labels, std::to_string(n) + " labels");

    std::vector<int> label_values(label_bytes.size());
    for (std::size_t i = 0; i < label_bytes.size(); ++i) {
        if (label_bytes[i] >= classes)
            labels.fail("label " + std::to_string(label_bytes[i]) + " of image " +
                        std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
        label_values[i] = label_bytes[i];
    }
    const auto& unit = detail::byte_to_unit();
    std::vector<float> pixels_out(image_bytes.size());
    for (std::size_t i = 0; i < image_bytes.size(); ++i)
        pixels_out[i] = unit[image_bytes[i]];
    return dataset(std::move(pixels_out), std::move(label_values),
                   image_shape{1, std::size_t(h), std::size_t(w)}, classes, images.path());
}

namespace detail {
/// `dir/name`, or `dir/name.gz` if only that exists (the plain name is what a
/// missing-file message names when neither does).
inline std::filesystem::path plain_or_gz(const std::filesystem::path& dir,
                                         const std::string& name) {
    auto plain = dir / name;
    if (std::filesystem::exists(plain)) return plain;
    auto gz = dir / (name + ".gz");
    if (std::filesystem::exists(gz)) return gz;
    return plain;
}
} // namespace detail

/// Loads a directory holding MNIST or Fashion-MNIST under their published names:
/// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte, each plain or with .gz (the plain file wins if both
/// are there).
inline train_test load_mnist(const std::filesystem::path& dir, std::size_t classes = 10) {
    using detail::plain_or_gz;
    return {load_idx(plain_or_gz(dir, "train-images-idx3-ubyte"),
                     plain_or_gz(dir, "train-labels-idx1-ubyte"), classes),
            load_idx(plain_or_gz(dir, "t10k-images-idx3-ubyte"),
                     plain_or_gz(dir, "t10k-labels-idx1-ubyte"), classes)};
}

} // namespace maso::io
