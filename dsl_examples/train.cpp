// dsl_examples/train.cpp — train the paper's smallCNN or largeCNN from the command line, with
// maso::trainer (include/maso/train/trainer.hpp) and the options parsed by CLI11.
//
//   train --data /usr/share/datasets/fashion-mnist --epochs 5 --save run.safetensors --csv run.csv
//   train --data cifar-10-batches-bin --net large --unit swish-learned --batch 50
//   train --data … --load run.safetensors --save run.safetensors     (resume, then go on saving)
//   train --help
//
// --data is a directory of MNIST-format files (MNIST, Fashion-MNIST: 1×28×28) or of CIFAR-10's
// binary version (3×32×32). Every image is preprocessed as the paper's authors do (centred,
// then scaled to max |x| = 1) unless --preprocess standardise. largeCNN takes 3×32×32 images.
//
// Exit status: 0 when training finished; 2 for a bad flag or value (one line on stderr, before
// anything is trained); 1 for a file that cannot be read or written, or a loss that is not
// finite (the message names the step and the node); 130 after Ctrl-C, which finishes the step
// and saves a checkpoint if --save is given.
//
// This file is the program's whole logic: parsing, loading, choosing the network and the
// optimiser, and handing them to maso::trainer. The two networks are dsl_examples/small_cnn.hpp
// and large_cnn.hpp.
#include <CLI/CLI.hpp>
#include <maso/io.hpp>
#include <maso/maso.hpp>
#include <maso/train/trainer.hpp>

#include "compare_fusion.hpp"
#include "large_cnn.hpp"
#include "small_cnn.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace maso;
namespace fs = std::filesystem;

namespace {

struct options {
    fs::path data, save, load, csv;
    std::string net = "small", unit = "swish-learned", optimizer = "adam", fuse = "all",
                order = "balanced", preprocess = "paper", schedule = "constant";
    std::size_t epochs = 10, batch = 50, threads = 0, compare_fuse = 0;
    double lr = 0; // 0: the optimiser's default below
    std::uint64_t seed = 0;
};

/// A bad combination of values found after parsing: one line, exit status 2.
struct usage_error {
    std::string message;
};

/// CLI11 validator: the path's directory exists (so that a checkpoint or CSV can be written
/// there), checked before training rather than at the first epoch's end.
const CLI::Validator parent_exists(
    [](const std::string& path) -> std::string {
        const fs::path parent = fs::path(path).parent_path();
        if (parent.empty() || fs::is_directory(parent)) return {};
        return "the directory " + parent.string() + " does not exist";
    },
    "PATH");

/// CLI11 validator: a finite number above 0 (CLI::PositiveNumber's message prints DBL_MAX).
const CLI::Validator positive(
    [](const std::string& text) -> std::string {
        double v = 0;
        if (CLI::detail::lexical_cast(text, v) && v > 0 && std::isfinite(v)) return {};
        return "the value " + text + " is not a positive number";
    },
    "POSITIVE");

/// CLI11 validator: digits only (CLI11 would read "-1" into an unsigned seed as 2^64 − 1).
const CLI::Validator whole_number(
    [](const std::string& text) -> std::string {
        if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return {};
        return "the value " + text + " is not a whole number";
    },
    "UINT");

beta_spec unit_of(const std::string& unit) {
    if (unit == "relu") return 1.f;     // β = 1: the hard pass, ReLU
    if (unit == "silu") return 0.5f;    // β = ½ fixed: z·σ(z)
    return learnable_per_channel(0.5f); // swish, β learned per channel
}

std::string describe_unit(const std::string& unit) {
    if (unit == "relu") return "ReLU (beta = 1)";
    if (unit == "silu") return "SiLU (beta = 1/2)";
    return "swish with a beta learned per channel (from 1/2)";
}

/// The data set in --data: MNIST-format files or CIFAR-10's binary version.
io::train_test load(const options& o, std::string& kind) {
    const auto has = [&](const char* name) {
        return fs::exists(o.data / name) || fs::exists(o.data / (std::string(name) + ".gz"));
    };
    if (has("train-images-idx3-ubyte")) {
        kind = "MNIST-format";
        return io::load_mnist(o.data);
    }
    if (has("data_batch_1.bin")) {
        kind = "CIFAR-10";
        return io::load_cifar10(o.data);
    }
    throw usage_error{"--data " + o.data.string() +
                      ": neither MNIST-format files (train-images-idx3-ubyte[.gz], …) nor "
                      "CIFAR-10's binary version (data_batch_1.bin, …) are there"};
}

template <class Model, class Optimizer>
int fit(Model& model, Optimizer& opt, const io::train_test& data, const options& o,
        const std::string& optimiser_text) {
    trainer_options to{.epochs = o.epochs,
                       .order = o.order == "balanced" ? io::sampling::class_balanced
                                                      : io::sampling::shuffled,
                       .seed = o.seed,
                       .save = o.save,
                       .csv = o.csv};
    if (o.schedule == "cosine") {
        // Over the whole run: N/batch steps an epoch, as the sampler cuts them.
        const std::uint64_t steps =
            std::uint64_t(o.epochs) *
            io::batch_sampler(data.train, {.batch = o.batch, .order = to.order}).steps_per_epoch();
        to.learning_rate = cosine_lr(opt.learning_rate(), steps);
    }
    trainer t(model, opt, data.train, data.test, to);
    std::printf("train: %s%s; %zu epoch%s of %zu steps of %zu images (%s, seed %llu)\n",
                optimiser_text.c_str(), o.schedule == "cosine" ? ", cosine decay to 0" : "",
                o.epochs, o.epochs == 1 ? "" : "s", t.steps_per_epoch(), o.batch,
                o.order == "balanced" ? "class-balanced" : "shuffled",
                static_cast<unsigned long long>(o.seed));
    if (!o.load.empty()) {
        t.resume(o.load);
        std::printf("train: resumed from %s at step %llu (epoch %llu)\n", o.load.c_str(),
                    static_cast<unsigned long long>(t.step()),
                    static_cast<unsigned long long>(t.step() / t.steps_per_epoch() + 1));
    }
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    const train_result r = t.fit();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r.interrupted) return 130;
    if (!r.epochs.empty() && r.epochs.back().evaluated)
        std::printf("train: test accuracy %.2f%% (%zu test images) after epoch %zu, step %llu; "
                    "%.1f s of training and testing\n",
                    100 * r.epochs.back().test_accuracy, data.test.size(), r.epochs.back().epoch,
                    static_cast<unsigned long long>(r.step), seconds);
    if (!r.checkpoint.empty()) std::printf("train: checkpoint %s\n", r.checkpoint.c_str());
    return 0;
}

template <class Net, class Policy>
int train_with(const Net& net, Policy policy, const io::train_test& data, const options& o) {
    auto model = instantiate(net, o.batch, policy, {.seed = o.seed});
    std::printf("train: %zu parameters (%zu of them learnable betas' theta)\n",
                model.parameters().size(), [&] {
                    std::size_t n = 0;
                    for (const auto& p : model.state_dict())
                        n += p.kind == parameter_kind::beta ? p.value.size() : 0;
                    return n;
                }());
    const double lr = o.lr > 0 ? o.lr : o.optimizer == "adam" ? 1e-3 : 0.01;
    char text[160];
    if (o.optimizer == "adam") {
        adam opt(model, {.learning_rate = lr, .bias_correction = false});
        std::snprintf(text, sizeof text, "Adam without bias correction (the authors'), lr %g", lr);
        return fit(model, opt, data, o, text);
    }
    sgd opt(model, {.learning_rate = lr, .momentum = 0.9});
    std::snprintf(text, sizeof text, "SGD with momentum 0.9, lr %g", lr);
    return fit(model, opt, data, o, text);
}

template <class Net>
int run(const Net& net, const io::train_test& data, const options& o) {
    const int status = o.fuse == "all" ? train_with(net, fuse::all, data, o)
                                       : train_with(net, fuse::none, data, o);
    if (status == 0 && o.compare_fuse > 0)
        maso_examples::print_fusion_speed(
            "train",
            maso_examples::compare_fusion(net, data.train, o.batch, o.compare_fuse, o.seed),
            o.compare_fuse);
    return status;
}

int train_main(const options& o) {
    if (o.threads > 0) set_num_threads(o.threads);
    std::string kind;
    io::train_test data = load(o, kind);
    if (o.preprocess == "paper") {
        io::centre_and_scale(data.train);
        io::centre_and_scale(data.test);
    } else {
        const io::channel_statistics s = io::channel_statistics_of(data.train);
        io::standardise(data.train, s);
        io::standardise(data.test, s);
    }
    std::printf("train: %s data in %s: %zu training and %zu test images of %s, %zu classes, %s\n",
                kind.c_str(), o.data.c_str(), data.train.size(), data.test.size(),
                io::to_string(data.train.shape()).c_str(), data.train.classes(),
                o.preprocess == "paper" ? "each centred and scaled to max |x| = 1"
                                        : "standardised per channel");
    std::printf("train: %sCNN with %s, fuse::%s; %zu threads, %s\n", o.net.c_str(),
                describe_unit(o.unit).c_str(), o.fuse.c_str(), num_threads(),
                xsimd::default_arch::name());
    const beta_spec unit = unit_of(o.unit);
    const io::image_shape s = data.train.shape();
    if (o.net == "large") {
        if (!(s == io::image_shape{3, 32, 32}))
            throw usage_error{"--net large takes 3x32x32 images (CIFAR-10); " + o.data.string() +
                              " has " + io::to_string(s)};
        return run(maso_examples::large_cnn_with(unit), data, o);
    }
    if (s == io::image_shape{1, 28, 28})
        return run(maso_examples::small_cnn<1, 28, 28>(unit), data, o);
    return run(maso_examples::small_cnn<3, 32, 32>(unit), data, o);
}

} // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app("Trains the paper's smallCNN or largeCNN with maso (docs/training.md).", "train");
    app.add_option("--data", o.data, "directory of MNIST-format or CIFAR-10 binary files")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("--net", o.net, "small or large (3x32x32 images only)")
        ->check(CLI::IsMember({"small", "large"}))
        ->capture_default_str();
    app.add_option("--unit", o.unit, "relu (beta = 1), silu (beta = 1/2) or swish-learned")
        ->check(CLI::IsMember({"relu", "silu", "swish-learned"}))
        ->capture_default_str();
    app.add_option("--optimizer", o.optimizer,
                   "adam (the authors': no bias correction) or sgd (momentum 0.9)")
        ->check(CLI::IsMember({"sgd", "adam"}))
        ->capture_default_str();
    app.add_option("--epochs", o.epochs, "epochs of N/batch steps")
        ->check(CLI::Range(std::size_t(1), std::size_t(1'000'000)))
        ->capture_default_str();
    app.add_option("--batch", o.batch, "images per step")
        ->check(CLI::Range(std::size_t(1), std::size_t(65'536)))
        ->capture_default_str();
    app.add_option("--lr", o.lr, "learning rate (default: 0.001 for adam, 0.01 for sgd)")
        ->check(positive);
    app.add_option("--seed", o.seed, "the initial weights, the batches' order")
        ->check(whole_number)
        ->capture_default_str();
    app.add_option("--threads", o.threads, "threads (default: MASO_NUM_THREADS, else all)")
        ->check(CLI::Range(std::size_t(1), std::size_t(256)));
    app.add_option("--save", o.save, "checkpoint after every epoch and on Ctrl-C")
        ->check(parent_exists);
    app.add_option("--load", o.load, "resume from this checkpoint")->check(CLI::ExistingFile);
    app.add_option("--fuse", o.fuse, "all (fused kernels) or none (one pass per node)")
        ->check(CLI::IsMember({"all", "none"}))
        ->capture_default_str();
    app.add_option("--csv", o.csv, "per-epoch metrics, one row an epoch")->check(parent_exists);
    app.add_option("--order", o.order,
                   "balanced (the authors': batch/C images of each class) "
                   "or shuffled")
        ->check(CLI::IsMember({"balanced", "shuffled"}))
        ->capture_default_str();
    app.add_option("--preprocess", o.preprocess,
                   "paper (per image: centred, scaled to max |x| = 1) or standardise (per "
                   "channel, the training set's mean and deviation)")
        ->check(CLI::IsMember({"paper", "standardise"}))
        ->capture_default_str();
    app.add_option("--schedule", o.schedule,
                   "constant (the authors') or cosine (from --lr down to 0 over the run)")
        ->check(CLI::IsMember({"constant", "cosine"}))
        ->capture_default_str();
    app.add_option("--compare-fuse", o.compare_fuse,
                   "after training, time this many steps fused and unfused and print the ratio")
        ->check(CLI::Range(std::size_t(1), std::size_t(100'000)));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::printf("%s", app.help().c_str());
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "train: %s (train --help lists the options)\n", e.what());
        return 2;
    }
    try {
        return train_main(o);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "train: %s\n", e.message.c_str());
        return 2;
    } catch (const file_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const numeric_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const error& e) {
        // A value refused by maso (a batch that class-balanced sampling cannot draw, a
        // checkpoint of another data order): a bad value given on the command line.
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
