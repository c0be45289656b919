// dsl_examples/compare_fusion.hpp — fused ÷ unfused training speed of a network, measured in
// the program that trains it: the same steps on the same batches, fuse::all against
// fuse::none, in interleaved rounds. dsl_examples/train.cpp (--compare-fuse) and
// fashion_mnist.cpp (the demo) print it after training.
#pragma once

#include <maso/io.hpp>
#include <maso/maso.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace maso_examples {

struct fusion_speed {
    double fused = 0, unfused = 0;     ///< images per second, medians of the rounds
    double fused_lo = 0, fused_hi = 0; ///< the fastest and slowest round of each
    double unfused_lo = 0, unfused_hi = 0;
    double ratio() const { return fused / unfused; }
};

/// `steps` steps (zero_gradients, forward, backward, an SGD step) of fresh fused and unfused
/// models of `net`, on the same `steps` batches of `train`, once each to warm up and then in
/// `rounds` interleaved rounds: the host's load drifts, and interleaving shares the drift out.
template <class Net>
fusion_speed compare_fusion(const Net& net, const maso::io::dataset& train, std::size_t batch,
                            std::size_t steps, std::uint64_t seed = 0, int rounds = 3) {
    namespace io = maso::io;
    std::vector<std::vector<float>> images;
    std::vector<std::vector<int>> labels;
    io::batch_sampler sampler(train, {.batch = batch, .seed = seed});
    for (std::size_t s = 0; s < steps; ++s) {
        const auto picked = sampler.next();
        images.emplace_back(picked.size() * train.shape().size());
        labels.emplace_back(picked.size());
        io::gather(train, picked, images.back(), labels.back());
    }
    const auto images_per_second = [&](auto& model, auto& opt) {
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t s = 0; s < steps; ++s) {
            model.zero_gradients();
            model.forward(images[s], labels[s]);
            model.backward();
            opt.step();
        }
        const auto t = std::chrono::steady_clock::now() - t0;
        return double(steps * batch) / std::chrono::duration<double>(t).count();
    };
    auto fused = maso::instantiate(net, batch, maso::fuse::all, {.seed = seed});
    auto unfused = maso::instantiate(net, batch, maso::fuse::none, {.seed = seed});
    maso::sgd fused_opt(fused, {.learning_rate = 1e-3});
    maso::sgd unfused_opt(unfused, {.learning_rate = 1e-3});
    images_per_second(fused, fused_opt); // every buffer touched, the pool's threads started
    images_per_second(unfused, unfused_opt);
    std::vector<double> a, b;
    for (int r = 0; r < rounds; ++r) {
        a.push_back(images_per_second(fused, fused_opt));
        b.push_back(images_per_second(unfused, unfused_opt));
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return {a[a.size() / 2], b[b.size() / 2], a.front(), a.back(), b.front(), b.back()};
}

/// One line: "fused / unfused training speed: 2650 / 1850 images/s = 1.43 (…)".
inline void print_fusion_speed(const char* who, const fusion_speed& f, std::size_t steps,
                               int rounds = 3) {
    std::printf("%s: fused / unfused training speed: %.0f / %.0f images/s = %.2f (medians of %d "
                "interleaved rounds of %zu steps on the same batches; rounds %.0f-%.0f and "
                "%.0f-%.0f images/s)\n",
                who, f.fused, f.unfused, f.ratio(), rounds, steps, f.fused_lo, f.fused_hi,
                f.unfused_lo, f.unfused_hi);
}

} // namespace maso_examples
