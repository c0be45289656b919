// dsl_examples/fashion_mnist.cpp — the demo (scripts/demo.sh) and the first example of
// docs/training.md: the authors' smallCNN with a swish whose β each channel learns, trained
// on Fashion-MNIST with maso::trainer, then its fused ÷ unfused training speed.
//
//   fashion_mnist [--data DIR] [--epochs N] [--csv PATH] [--quick]
//
// DIR defaults to /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). The
// recipe: per-channel standardisation, class-balanced batches of 50, the authors' Adam (no bias
// correction) at 2e-3 decayed to 0 by a cosine over the run, 5 epochs. --quick (ctest) trains
// one epoch on the first 500 training images and tests on 200, to check that it runs.
#include <maso/io.hpp>
#include <maso/maso.hpp>
#include <maso/train/trainer.hpp>

#include "compare_fusion.hpp"
#include "small_cnn.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace maso;

namespace {

/// The first n images of a set, as a set (for --quick).
io::dataset first(const io::dataset& d, std::size_t n) {
    const std::size_t size = d.shape().size();
    return io::dataset(std::vector<float>(d.images().begin(), d.images().begin() + n * size),
                       std::vector<int>(d.labels().begin(), d.labels().begin() + n), d.shape(),
                       d.classes(), d.name());
}

} // namespace

int main(int argc, char** argv) {
    std::filesystem::path dir = "/usr/share/datasets/fashion-mnist", csv;
    std::size_t epochs = 5;
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--data") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!std::strcmp(argv[i], "--epochs") && i + 1 < argc) {
            epochs = std::stoul(argv[++i]);
        } else if (!std::strcmp(argv[i], "--csv") && i + 1 < argc) {
            csv = argv[++i];
        } else if (!std::strcmp(argv[i], "--quick")) {
            quick = true;
            epochs = 1;
        } else {
            std::fprintf(stderr, "usage: %s [--data DIR] [--epochs N] [--csv PATH] [--quick]\n",
                         argv[0]);
            return 2;
        }
    }
    const auto start = std::chrono::steady_clock::now();
    try {
        // [data]
        auto [train, test] = io::load_mnist(dir); // 60000 and 10000 images of 1x28x28
        const io::channel_statistics stats = io::channel_statistics_of(train);
        io::standardise(train, stats); // the training set's mean and deviation, for both
        io::standardise(test, stats);
        // [data]
        if (quick) {
            train = first(train, 500);
            test = first(test, 200);
        }

        // [train]
        const auto net = maso_examples::small_cnn<1, 28, 28>(learnable_per_channel(0.5f));
        const std::size_t batch = 50;
        auto model = instantiate(net, batch, fuse::all, {.seed = 1});
        adam opt(model, {.learning_rate = 2e-3, .bias_correction = false});
        trainer t(model, opt, train, test,
                  {.epochs = epochs,
                   .order = io::sampling::class_balanced,
                   .seed = 1,
                   .learning_rate = cosine_lr(2e-3, epochs * (train.size() / batch)),
                   .csv = csv});
        const train_result r = t.fit(); // Ctrl-C: r.interrupted, after the step in progress
        // [train]
        if (r.interrupted) return 130;

        const epoch_metrics& last = r.epochs.back();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("fashion_mnist: test accuracy %.2f%% on the %zu test images after %zu "
                    "epochs, %.0f s from the program's start (loading included)\n",
                    100 * last.test_accuracy, test.size(), last.epoch, seconds);
        std::printf("fashion_mnist: beta per channel of the first unit after training:");
        for (const float theta : model.parameters<3>())
            std::printf(" %.2f", 1 / (1 + std::exp(-theta)));
        std::printf("\n");
        const std::size_t steps = quick ? 1 : 40;
        maso_examples::print_fusion_speed(
            "fashion_mnist", maso_examples::compare_fusion(net, train, batch, steps, 1), steps);
    } catch (const maso::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
