// The paper's largeCNN (paper-spec §7), declared in ten lines, trained one step.
//
// The network is declared in large_cnn.hpp (the [large_cnn] snippet the docs
// quote). This program runs it forward and backward on random data, fused and
// unfused, takes one SGD step on the fused model (maso::sgd), and prints the plan,
// the two losses and the largest gradient difference.
//
//   large_cnn [--batch N]      (default 2)
#include "large_cnn.hpp"

#include <maso/maso.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace maso;

using maso_examples::large_cnn;

int main(int argc, char** argv) {
    std::size_t batch = 2;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--batch" && i + 1 < argc) {
            batch = std::stoul(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: %s [--batch N]\n", argv[0]);
            return 2;
        }
    }
    std::cout << describe(large_cnn) << "\n";

    // clang-format off
    // [train_step]
    auto fused = instantiate(large_cnn, batch);                // fuse::all
    auto unfused = instantiate(large_cnn, batch, fuse::none); // same seed, same parameters
    sgd opt(fused, {.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f});

    std::mt19937 rng(1);
    std::normal_distribution<float> pixel(0.f, 1.f);
    std::vector<float> images(batch * 3 * 32 * 32);
    for (auto& v : images) v = pixel(rng);
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n) labels[n] = int(n % 10);

    const float loss = fused.forward(images, labels);
    fused.zero_gradients();
    fused.backward();
    opt.step(); // v ← 0.9·v + g + 5e-4·p, then p ← p − 0.01·v, for every parameter
    // [train_step]
    // clang-format on
    const float loss_unfused = unfused.forward(images, labels);
    unfused.zero_gradients();
    unfused.backward();

    double diff = 0, largest = 0;
    for (std::size_t i = 0; i < fused.gradients().size(); ++i) {
        diff = std::max(diff, double(std::fabs(fused.gradients()[i] - unfused.gradients()[i])));
        largest = std::max(largest, double(std::fabs(unfused.gradients()[i])));
    }
    std::printf("parameters: %zu\nloss fused %.6f, unfused %.6f (log 10 = %.6f)\n",
                fused.parameters().size(), loss, loss_unfused, std::log(10.0));
    std::printf("largest gradient %.3e, largest fused−unfused difference %.3e\n", largest, diff);
    if (!std::isfinite(loss) || std::fabs(loss - loss_unfused) > 1e-4f * std::fabs(loss_unfused) ||
        diff > 1e-3 * largest) {
        std::fprintf(stderr, "large_cnn: fused and unfused disagree\n");
        return 1;
    }
    return 0;
}
