// smallCNN (paper-spec §7, the authors' OMASO variant; dsl_examples/small_cnn.hpp) with ReLU,
// on 3×32×32 images: runs forward and backward, fused and unfused, and fails if the two
// disagree.
//
//   small_cnn [--batch N]      (default 2)
#include <maso/maso.hpp>

#include "small_cnn.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace maso;

/// ReLU: a fixed β = 1 runs the hard pass.
const auto small_cnn = maso_examples::small_cnn<3, 32, 32>(1.f);

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
    std::cout << describe(small_cnn) << "\n";
    auto fused = instantiate(small_cnn, batch);
    auto unfused = instantiate(small_cnn, batch, fuse::none);

    std::mt19937 rng(2);
    std::normal_distribution<float> pixel(0.f, 1.f);
    std::vector<float> images(batch * 3 * 32 * 32);
    for (auto& v : images)
        v = pixel(rng);
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n)
        labels[n] = int((7 * n) % 10);

    const float a = fused.forward(images, labels), b = unfused.forward(images, labels);
    fused.backward();
    unfused.backward();
    double diff = 0, largest = 0;
    for (std::size_t i = 0; i < fused.gradients().size(); ++i) {
        diff = std::max(diff, double(std::fabs(fused.gradients()[i] - unfused.gradients()[i])));
        largest = std::max(largest, double(std::fabs(unfused.gradients()[i])));
    }
    std::printf("parameters: %zu\nloss fused %.6f, unfused %.6f\n", fused.parameters().size(), a,
                b);
    std::printf("largest gradient %.3e, largest fused−unfused difference %.3e\n", largest, diff);
    if (!std::isfinite(a) || std::fabs(a - b) > 1e-4f * std::fabs(b) || diff > 1e-3 * largest) {
        std::fprintf(stderr, "small_cnn: fused and unfused disagree\n");
        return 1;
    }
    return 0;
}
