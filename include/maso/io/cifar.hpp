// maso/io/cifar.hpp — CIFAR-10 and CIFAR-100, the "binary version" of the data sets.
//
// A file is a run of fixed-size records with no header:
//   CIFAR-10   label (0..9),                          3072 pixel bytes   (3073 bytes)
//   CIFAR-100  coarse label (0..19), fine label (0..99), 3072 pixel bytes (3074 bytes)
// The pixels are the red plane, then green, then blue, each 32×32 row-major: already
// [C][H][W], so an image is its 3072 bytes scaled to p/255 in [0, 1]. CIFAR-100
// sets keep the fine label (100 classes), as the paper's experiments do.
//
//   auto [train, test] = maso::io::load_cifar10("/data/cifar-10-batches-bin");
//       // data_batch_1.bin … data_batch_5.bin (50000 images), test_batch.bin (10000)
//   auto c100 = maso::io::load_cifar100("/data/cifar-100-binary"); // train.bin, test.bin
//
// Files may also be gzip-compressed (read transparently). Every problem is a
// maso::file_error naming the file: missing, empty, a size that is not a whole
// number of records (truncated), a label out of range (with the record's index),
// corrupt gzip data.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/dataset.hpp>
#include <maso/io/detail/byte_to_unit.hpp>
#include <maso/io/detail/input_file.hpp>
#include <maso/io/train_test.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace maso::io {

enum class cifar_format {
    cifar10,  ///< 1 label byte per record, 10 classes
    cifar100, ///< coarse and fine label bytes per record, 100 (fine) classes
};

namespace detail {

inline constexpr image_shape cifar_shape{3, 32, 32};

struct cifar_layout {
    std::size_t label_bytes; ///< bytes before the pixels
    std::size_t classes;     ///< of the label kept (the last label byte)
};

constexpr cifar_layout layout_of(cifar_format f) noexcept {
    return f == cifar_format::cifar10 ? cifar_layout{1, 10} : cifar_layout{2, 100};
}

/// Appends the records of one file to images and labels.
inline void read_cifar_file(const std::filesystem::path& p, cifar_format format,
                            std::vector<float>& images, std::vector<int>& labels) {
    const cifar_layout layout = layout_of(format);
    const std::size_t record = layout.label_bytes + cifar_shape.size();
    input_file f(p);
    const std::vector<std::uint8_t> bytes = f.read_rest();
    if (bytes.empty()) f.fail("empty: no records");
    if (bytes.size() % record != 0)
        f.fail("truncated: " + std::to_string(bytes.size()) + " bytes is not a whole number of " +
               std::to_string(record) + "-byte records (" + std::to_string(bytes.size() / record) +
               " records and " + std::to_string(bytes.size() % record) + " bytes)");
    const std::size_t n = bytes.size() / record;
    const auto& unit = byte_to_unit();
    const std::size_t first_image = labels.size();
    images.resize(images.size() + n * cifar_shape.size());
    labels.resize(labels.size() + n);
    for (std::size_t r = 0; r < n; ++r) {
        const std::uint8_t* rec = bytes.data() + r * record;
        if (format == cifar_format::cifar100 && rec[0] >= 20)
            f.fail("record " + std::to_string(r) + " has coarse label " + std::to_string(rec[0]) +
                   ", outside [0, 20)");
        const std::uint8_t label = rec[layout.label_bytes - 1];
        if (label >= layout.classes)
            f.fail("record " + std::to_string(r) + " has " +
                   (format == cifar_format::cifar100 ? "fine label " : "label ") +
                   std::to_string(label) + ", outside [0, " + std::to_string(layout.classes) + ")");
        labels[first_image + r] = label;
        float* out = images.data() + (first_image + r) * cifar_shape.size();
        const std::uint8_t* pixels = rec + layout.label_bytes;
        for (std::size_t i = 0; i < cifar_shape.size(); ++i)
            out[i] = unit[pixels[i]];
    }
}

inline std::string join(std::span<const std::filesystem::path> files) {
    std::string s;
    for (const auto& f : files)
        s += (s.empty() ? "" : ", ") + f.string();
    return s;
}

} // namespace detail

/// Loads the records of `files`, in order, into one data set of 3×32×32 images.
/// The set's name lists the files. Throws file_error naming the file at fault.
inline dataset load_cifar(std::span<const std::filesystem::path> files, cifar_format format) {
    if (files.empty()) throw value_error("maso: load_cifar: no files given");
    std::vector<float> images;
    std::vector<int> labels;
    for (const auto& p : files)
        detail::read_cifar_file(p, format, images, labels);
    return dataset(std::move(images), std::move(labels), detail::cifar_shape,
                   detail::layout_of(format).classes, detail::join(files));
}

namespace detail {
/// The binary files are expected; the python version of the archive holds
/// pickles under similar names, so a missing .bin next to one gets a hint.
inline void check_binary_version(const std::filesystem::path& bin) {
    if (std::filesystem::exists(bin)) return;
    auto pickle = bin;
    pickle.replace_extension();
    if (std::filesystem::exists(pickle))
        throw file_error(bin.string(), "no such file (" + pickle.filename().string() +
                                           " is the python version of CIFAR; maso reads the "
                                           "binary version)");
}
} // namespace detail

/// `dir/data_batch_1.bin` … `data_batch_5.bin` (train, 50000 images) and
/// `dir/test_batch.bin` (test, 10000), as in cifar-10-binary.tar.gz.
inline train_test load_cifar10(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> train;
    for (int b = 1; b <= 5; ++b)
        train.push_back(dir / ("data_batch_" + std::to_string(b) + ".bin"));
    const std::filesystem::path test[] = {dir / "test_batch.bin"};
    for (const auto& p : train)
        detail::check_binary_version(p);
    detail::check_binary_version(test[0]);
    return {load_cifar(train, cifar_format::cifar10), load_cifar(test, cifar_format::cifar10)};
}

/// `dir/train.bin` (50000 images) and `dir/test.bin` (10000), as in
/// cifar-100-binary.tar.gz; the fine labels, 100 classes.
inline train_test load_cifar100(const std::filesystem::path& dir) {
    const std::filesystem::path train[] = {dir / "train.bin"};
    const std::filesystem::path test[] = {dir / "test.bin"};
    detail::check_binary_version(train[0]);
    detail::check_binary_version(test[0]);
    return {load_cifar(train, cifar_format::cifar100), load_cifar(test, cifar_format::cifar100)};
}

} // namespace maso::io
