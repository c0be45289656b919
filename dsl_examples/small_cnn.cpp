// smallCNN (paper-spec §7, the authors' OMASO variant): three conv + BN + ReLU
// stages with max pooling, global average pooling and a dense class layer
// without bias. One difference from their listing: the first convolution uses
// 'same' padding, so that both 2×2 poolings divide their map exactly
// (32 → 32 → 16 → 14 → 7); Lasagne's pooling floors odd maps, maso's refuses
// them (E014). Runs forward and backward, fused and unfused.
//
//   small_cnn [--batch N]      (default 2)
#include <maso/maso.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace maso;

// clang-format off
// [small_cnn]
const auto small_cnn = input<3, 32, 32>()
    >> conv2d<32, 3, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>() >> maxpool<2>()
    >> conv2d<64, 3, 1, padding::valid, false>() >> batch_norm() >> hard_vq<relu>() >> maxpool<2>()
    >> conv2d<128, 1, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>()
    >> global_avgpool() >> dense<10, false>() >> softmax_cross_entropy();
// [small_cnn]
// clang-format on

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
