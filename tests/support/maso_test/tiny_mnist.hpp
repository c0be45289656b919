// maso_test/tiny_mnist.hpp — an MNIST-format directory small enough to train on in a test,
// for the tests of dsl_examples' command-line programs.
#pragma once

#include <maso_test/io_files.hpp>

#include <cstdint>
#include <string>

namespace maso_test {

/// `train` and `test` images of 28×28 in the idx files MNIST ships (gzip), class c (i % 10)
/// marked by a bright band at rows 2c and 2c + 1 over random dim pixels, so a few steps learn it.
struct tiny_mnist {
    temp_dir dir;

    tiny_mnist(std::uint32_t train, std::uint32_t test) {
        write("train", train, 1);
        write("t10k", test, 2);
    }

    std::string path() const { return dir.path().string(); }

private:
    void write(const std::string& split, std::uint32_t n, unsigned seed) {
        bytes pixels = random_bytes(n * 784, 64, seed), labels(n);
        for (std::uint32_t i = 0; i < n; ++i) {
            labels[i] = std::uint8_t(i % 10);
            for (std::size_t p = 0; p < 28 * 2; ++p)
                pixels[i * 784 + (i % 10) * 56 + p] = 255;
        }
        write_gzip(dir / (split + "-images-idx3-ubyte.gz"), idx_images(n, 28, 28, pixels));
        write_gzip(dir / (split + "-labels-idx1-ubyte.gz"), idx_labels(labels));
    }
};

} // namespace maso_test
