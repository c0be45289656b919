// maso/io/train_test.hpp — a data set's training and test parts, as a loader returns them.
#pragma once

#include <maso/io/dataset.hpp>

namespace maso::io {

/// The two parts of a published data set (MNIST, Fashion-MNIST, CIFAR-10/100).
/// Structured bindings work: auto [train, test] = io::load_cifar10(dir);
struct train_test {
    dataset train;
    dataset test;
};

} // namespace maso::io
