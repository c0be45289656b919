// An MLP with learnable β-VQ ReLUs trained for five SGD steps on random data: the complete
// program of docs/dsl.md (a training loop with SGD). ctest runs it.

// Quoted by docs/dsl.md as it is:
// clang-format off
#include <maso/maso.hpp>

#include <cstdio>
#include <random>
#include <vector>

using namespace maso;

const auto mlp = input<784>() >> dense<512>() >> beta_vq<relu>(learnable(0.5f)) >> dense<512>()
    >> beta_vq<relu>(learnable(0.5f)) >> dense<10>() >> softmax_cross_entropy();

int main() {
    const std::size_t batch = 50;
    auto model = instantiate(mlp, batch, fuse::all, {.weights = initializer::he_normal, .seed = 1});

    std::mt19937 rng(0);
    std::normal_distribution<float> pixel(0.f, 1.f);
    std::vector<float> images(batch * 784); // [N][C][H][W]: here N × 784
    for (auto& v : images) v = pixel(rng);
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n) labels[n] = int(n % 10);

    sgd opt(model, {.learning_rate = 0.01f});
    for (int step = 0; step < 5; ++step) {
        model.zero_gradients();
        const float loss = model.forward(images, labels);
        model.backward();
        opt.step(); // p ← p − 0.01·g
        std::printf("step %d: loss %.4f, theta of node 2 = %g\n", step, loss,
                    model.parameters<2>()[0]);
    }
}
// clang-format on
