// dsl_examples/trainer_resume.cpp — maso::trainer's options, Ctrl-C and resuming
// (docs/training.md). A small CNN learns which row pair of an 8×8 image is bright. One run
// trains straight through; another is stopped by a SIGINT after step 30, as Ctrl-C would stop
// it, and a fresh model, optimiser and trainer resume it from the checkpoint it saved. The two
// end bitwise equal; the program says so, and fails if they do not.
//
//   trainer_resume [--dir D]      (default: the temporary directory)
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace maso;

namespace {

const auto net = input<1, 8, 8>() >> conv2d<8, 3>() >>
                 batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f)) >> maxpool<2>() >>
                 flatten() >> dense<4>() >> softmax_cross_entropy();
constexpr std::size_t batch = 16;

/// n images of noise in which class c brightens rows 2c and 2c + 1.
io::dataset stripes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.f, 0.5f);
    std::vector<float> images(n * 64);
    std::vector<int> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        labels[i] = int(i % 4);
        for (std::size_t p = 0; p < 64; ++p)
            images[i * 64 + p] = noise(rng) + (p / 16 == i % 4 ? 1.f : 0.f);
    }
    return io::dataset(std::move(images), std::move(labels), {1, 8, 8}, 4, "stripes");
}

// [options]
trainer_options options_for(const std::filesystem::path& dir) {
    return {.epochs = 4,
            .order = io::sampling::class_balanced, // batch/4 images of every class a step
            .seed = 1,                             // the batches and the augmentation
            .augment = io::augment_options{.pad = 0, .flip = true},  // mirrored rows: same class
            .learning_rate = linear_warmup(10, cosine_lr(3e-3, 70)), // over the 80 steps
            .clip_norm = 5,
            .save = dir / "run.safetensors", // after every epoch, and on Ctrl-C
            .csv = dir / "run.csv",          // a row per epoch
            .progress = {.style = progress_style::lines, .lines_per_epoch = 2}};
}
// [options]

std::vector<float> everything(auto& model) {
    std::vector<float> v;
    for (const auto& t : model.state_dict())
        v.insert(v.end(), t.value.begin(), t.value.end());
    return v;
}

} // namespace

int main(int argc, char** argv) {
    std::filesystem::path dir = std::filesystem::temp_directory_path();
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--dir D]\n", argv[0]);
            return 2;
        }
    }
    dir /= "maso-trainer-resume-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    const io::dataset train = stripes(320, 1), test = stripes(160, 2);
    const adam_options authors{.learning_rate = 3e-3, .bias_correction = false};

    std::printf("straight through:\n");
    auto straight = instantiate(net, batch, fuse::all, {.seed = 1});
    adam straight_opt(straight, authors);
    trainer_options straight_options = options_for(dir);
    straight_options.save.clear();
    straight_options.csv.clear();
    trainer(straight, straight_opt, train, test, straight_options).fit();

    std::printf("stopped after step 30, then resumed:\n");
    {
        auto model = instantiate(net, batch, fuse::all, {.seed = 1});
        adam opt(model, authors);
        // [interrupt]
        trainer_options o = options_for(dir);
        o.on_step = [](const step_report& r) {
            if (r.global_step == 30) std::raise(SIGINT); // as a Ctrl-C during step 30 would
        };
        const train_result r = trainer(model, opt, train, test, o).fit();
        // r.interrupted; r.step == 30; r.checkpoint is dir / "run.safetensors", at step 30
        // [interrupt]
        if (!r.interrupted || r.step != 30) return 1;
    } // the first process ends here

    // [resume]
    auto model = instantiate(net, batch, fuse::all, {.seed = 7}); // overwritten by the load
    adam opt(model, authors);
    trainer t(model, opt, train, test, options_for(dir)); // the options of the run that saved
    t.resume(dir / "run.safetensors");                    // model, optimiser, step 30
    const train_result done = t.fit();                    // steps 31 to 80
    // [resume]

    // [evaluate]
    const evaluation e = evaluate(model, test.images(), test.labels());
    std::printf("test set: %zu of %zu right (%.2f%%), loss %.4f\n", e.correct, e.count,
                100 * e.accuracy, e.loss);
    // [evaluate]
    const bool same = everything(model) == everything(straight);
    std::printf("resumed at step 30, finished at step %llu: parameters and statistics bitwise "
                "equal to the straight run's: %s\n",
                static_cast<unsigned long long>(done.step), same ? "yes" : "NO");
    std::filesystem::remove_all(dir);
    return same && e.accuracy > 0.9 ? 0 : 1;
}
