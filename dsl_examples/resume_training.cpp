// Training that stops and resumes (docs/checkpoints-and-optimisers.md): a small CNN trained
// with the paper authors' Adam (no bias correction), a warm-up then a cosine schedule and
// gradient clipping, on random class-dependent images. One run trains straight; the other
// stops half-way, saves a checkpoint, and a fresh model, optimiser and random engine resume
// from it. The two end bitwise equal; the program says so, and fails if they do not.
//
//   resume_training [--steps N] [--dir D]      (default 8 steps, the temporary directory)
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace maso;

const auto net = input<1, 8, 8>() >> conv2d<8, 3>() >>
                 batch_norm() >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>() >>
                 flatten() >> dense<4>() >> softmax_cross_entropy();
constexpr std::size_t batch = 8;

// [train]
/// `steps` training steps from the optimiser's step count on, each on a batch drawn from rng.
template <class Model>
void train(Model& model, adam& opt, std::mt19937_64& rng, std::uint64_t steps) {
    const schedule lr = linear_warmup(2, cosine_lr(3e-3, 20));
    std::vector<float> images(batch * 64);
    std::vector<int> labels(batch);
    for (std::uint64_t s = 0; s < steps; ++s) {
        for (std::size_t n = 0; n < batch; ++n) {
            labels[n] = int(rng() % 4);
            for (std::size_t i = 0; i < 64; ++i) // class c brightens row pair c
                images[n * 64 + i] =
                    float(rng() >> 40) * 0x1p-24f + (i / 16 == std::size_t(labels[n]) ? 0.5f : 0.f);
        }
        model.zero_gradients();
        const float loss = model.forward(images, labels);
        model.backward();
        const double norm = clip_gradient_norm(model, 5.0);
        opt.set_learning_rate(lr(opt.step_count()));
        opt.step();
        std::printf("  step %2llu  lr %.5f  loss %.4f  |g| %.3f\n",
                    (unsigned long long)opt.step_count(), opt.learning_rate(), loss, norm);
    }
}
// [train]

int main(int argc, char** argv) {
    std::uint64_t steps = 8;
    std::filesystem::path dir = std::filesystem::temp_directory_path();
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = std::stoull(argv[++i]);
        } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--steps N] [--dir D]\n", argv[0]);
            return 2;
        }
    }
    const adam_options authors{.learning_rate = 3e-3, .bias_correction = false};

    std::printf("straight, %llu steps:\n", (unsigned long long)steps);
    auto straight = instantiate(net, batch, fuse::all, {.seed = 1});
    adam straight_opt(straight, authors);
    std::mt19937_64 straight_rng(42);
    train(straight, straight_opt, straight_rng, steps);

    // [save]
    const std::filesystem::path file =
        dir / ("maso-resume-" + std::to_string(::getpid()) + ".safetensors");
    std::printf("stopping after %llu steps, then resuming:\n", (unsigned long long)(steps / 2));
    {
        auto model = instantiate(net, batch, fuse::all, {.seed = 1});
        adam opt(model, authors);
        std::mt19937_64 rng(42);
        train(model, opt, rng, steps / 2);
        io::save_checkpoint(file, model, opt,
                            {.step = opt.step_count(),
                             .random_state = io::random_state_text(rng),
                             .metadata = {{"example", "resume_training"}}});
    } // the first process ends here
    // [save]
    // [resume]
    auto model = instantiate(net, batch, fuse::all, {.seed = 7}); // overwritten by the load
    adam opt(model, authors);
    std::mt19937_64 rng;
    const io::checkpoint_state st = io::load_checkpoint(file, model, opt);
    io::restore_random_state(rng, st.random_state);
    train(model, opt, rng, steps - st.step);
    // [resume]
    std::filesystem::remove(file);

    const auto a = straight.state_dict(), b = model.state_dict();
    bool same = a.size() == b.size();
    for (std::size_t k = 0; same && k < a.size(); ++k)
        same = std::memcmp(a[k].value.data(), b[k].value.data(), a[k].value.size_bytes()) == 0;
    std::printf("resumed from step %llu (%s): parameters and statistics bitwise equal to the "
                "straight run: %s\n",
                (unsigned long long)st.step, st.metadata.at("example").c_str(),
                same ? "yes" : "NO");
    return same ? 0 : 1;
}
