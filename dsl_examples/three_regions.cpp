// A spline unit of three regions as a layer: max(0, z, 2z − 1) (vq::two_knot), its β
// learned per channel, in a small convolutional network that learns to tell a bright
// centre from a bright border. The unit runs the region passes (vq/region_pass.hpp),
// fused with the convolution's tiles like any unit. ctest runs it; it exits 1 if the
// network does not learn.
#include <maso/maso.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace maso;

int main() {
    const auto net = input<1, 8, 8>() >> conv2d<4, 3>() >>
                     beta_vq<vq::two_knot>(learnable_per_channel(0.5f)) >> maxpool<2>() >>
                     flatten() >> dense<2>() >> softmax_cross_entropy();
    constexpr std::size_t batch = 16;
    auto model = instantiate(net, batch, fuse::all, {.seed = 2});
    std::printf("%s", describe(net).c_str());

    // Class 0: the centre 4×4 is bright; class 1: the border is. Noise on every pixel.
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.f, 0.3f);
    std::vector<float> images(batch * 64);
    std::vector<int> labels(batch);
    const auto draw = [&] {
        for (std::size_t n = 0; n < batch; ++n) {
            labels[n] = int(n % 2);
            for (std::size_t y = 0; y < 8; ++y)
                for (std::size_t x = 0; x < 8; ++x) {
                    const bool centre = y >= 2 && y < 6 && x >= 2 && x < 6;
                    const float bright = centre == (labels[n] == 0) ? 1.f : 0.f;
                    images[n * 64 + y * 8 + x] = bright + noise(rng);
                }
        }
    };
    sgd opt(model, {.learning_rate = 0.05, .momentum = 0.9});
    float first = 0, last = 0;
    for (int step = 0; step < 60; ++step) {
        draw();
        model.zero_gradients();
        last = model.forward(images, labels);
        if (step == 0) first = last;
        model.backward();
        opt.step();
    }
    std::printf("loss: %.3f at the first step, %.3f at the last\n", first, last);
    std::printf("learned β per channel:");
    for (const float theta : model.parameters<2>())
        std::printf(" %.2f", 1 / (1 + std::exp(-theta)));
    std::printf("\n");
    return last < 0.5f * first ? 0 : 1;
}
