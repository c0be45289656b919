// dsl_examples/experiment.cpp — the paper's experiment, rerun (issue 15): a grid of runs
// {ReLU, SiLU, swish with β learned per channel} × {no constraint, the penalty, Gram–Schmidt,
// CholeskyQR2} × learning rates × seeds, each run kept on disk, then docs/results.md written
// from the runs (experiment/summary.hpp). scripts/experiment.sh builds and runs it.
//
//   experiment                                   the default grid: smallCNN on Fashion-MNIST,
//                                                sized to take under an hour on 2 cores
//   experiment --net large --data cifar-10-batches-bin
//                                                largeCNN on CIFAR-10 (or CIFAR-100's train.bin,
//                                                test.bin), the paper's protocol: 120 epochs,
//                                                learning rates 0.0001, 0.0005, 0.001, 5 seeds;
//                                                runs and page in
//                                                docs/results/large-cifar-10-batches-bin
//   experiment --summarise-only --out DIR        the page again from DIR's runs
//
// A run's record is written when it ends (experiment/record.hpp); running the command again
// skips the runs that have one, so an interrupted grid (Ctrl-C, a reboot) goes on where it
// stopped. The run in progress is lost: it starts again from its first step. A record written
// under another protocol (other epochs, subsets, batch, data or network) is refused, naming
// the file, rather than mixed into the table.
//
// Exit status: 0 when the grid is done and the page written; 2 for a bad flag or value, or a
// results directory of another protocol (one line on stderr); 1 for a file that cannot be read
// or written, gnuplot failing, or a loss that is not finite; 130 after Ctrl-C, which finishes
// the step and stops without writing the run in progress (a Ctrl-C while a record is being
// written stops the grid after that run, which is kept).
#include <CLI/CLI.hpp>
#include <maso/io.hpp>
#include <maso/maso.hpp>
#include <maso/train/trainer.hpp>

#include "experiment/record.hpp"
#include "experiment/run.hpp"
#include "experiment/summary.hpp"
#include "large_cnn.hpp"
#include "ortho_path.hpp"
#include "small_cnn.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace maso;
using namespace maso_examples::experiment;
namespace fs = std::filesystem;
namespace ortho_path = maso_examples::ortho_path;

namespace {

/// The grid sized for 60 minutes on 2 shared cores (issue 15): 6 epochs of 15,000 images
/// (90,000 images, 1.5 passes over Fashion-MNIST's training set) and a test of 10,000 after
/// each. Measured before the grid ran, four such runs took 68 to 85 s each (AVX-512, 2 threads,
/// load average 4 to 5 from other work), so 36 runs take about 45 minutes; the grid of
/// docs/results.md took 56 minutes at a load average of 5 to 9. 8 epochs of the whole set (the
/// demo's) would take over 3 minutes a run, two hours for the grid.
constexpr std::size_t small_epochs = 6, small_train_images = 15'000, small_seeds = 3;
/// The paper's largeCNN protocol (paper-spec §7): the authors' OMASO scripts ran 120 epochs
/// and swept these three Adam learning rates; their largeCNN runs were repeated 5 times.
constexpr std::size_t large_epochs = 120, large_seeds = 5;
const std::vector<double> large_lrs{0.0001, 0.0005, 0.001};

struct options {
    fs::path data = "/usr/share/datasets/fashion-mnist", out, summary, image;
    std::string net = "small", command, gnuplot = "gnuplot";
    std::vector<std::string> units{"relu", "silu", "swish-learned"},
        orthos{"none", "penalty", "gram-schmidt", "cholesky-qr"};
    std::vector<double> lrs;
    std::size_t seeds = 0, epochs = 0, train_images = 0, test_images = 0, batch = 0, threads = 0;
    bool summarise_only = false;
};

/// A bad value or combination found after parsing: one line, exit status 2.
struct usage_error {
    std::string message;
};

/// CLI11 validator: a finite number above 0.
const CLI::Validator positive(
    [](const std::string& text) -> std::string {
        double v = 0;
        if (CLI::detail::lexical_cast(text, v) && v > 0 && std::isfinite(v)) return {};
        return "the value " + text + " is not a positive number";
    },
    "POSITIVE");

beta_spec unit_of(const std::string& unit) {
    if (unit == "relu") return 1.f;     // β = 1: the hard pass, ReLU
    if (unit == "silu") return 0.5f;    // β = ½ fixed: z·σ(z)
    return learnable_per_channel(0.5f); // swish, β learned per channel from ½
}

struct loaded {
    io::train_test sets;
    std::string kind; ///< protocol::data
};

bool has_file(const fs::path& dir, const std::string& name) {
    return fs::exists(dir / name) || fs::exists(dir / (name + ".gz"));
}

/// The data set in --data: MNIST-format files, CIFAR-10's or CIFAR-100's binary version.
loaded load(const options& o) {
    if (has_file(o.data, "train-images-idx3-ubyte")) {
        // The files do not say whether they are MNIST or Fashion-MNIST; the directory's name
        // (Debian's /usr/share/datasets/fashion-mnist) usually does.
        std::string name = o.data.string();
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return char(std::tolower(c)); });
        return {io::load_mnist(o.data),
                name.find("fashion") != std::string::npos ? "Fashion-MNIST" : "MNIST-format"};
    }
    if (has_file(o.data, "data_batch_1.bin")) return {io::load_cifar10(o.data), "CIFAR-10"};
    if (has_file(o.data, "train.bin")) return {io::load_cifar100(o.data), "CIFAR-100"};
    throw usage_error{"--data " + o.data.string() +
                      ": none of MNIST-format files (train-images-idx3-ubyte[.gz], …), CIFAR-10's "
                      "binary version (data_batch_1.bin, …) or CIFAR-100's (train.bin, test.bin) "
                      "is there"};
}

/// The first n / classes images of every class, in the set's order; the whole set for n = 0.
io::dataset class_balanced_subset(const io::dataset& d, std::size_t n, const char* flag) {
    if (n == 0 || n == d.size()) return d;
    const std::size_t classes = d.classes();
    if (n % classes != 0 || n > d.size())
        throw usage_error{std::string(flag) + " " + std::to_string(n) + ": must be a multiple of " +
                          "the " + std::to_string(classes) + " classes and at most the " +
                          std::to_string(d.size()) + " images of " + d.name()};
    const std::size_t per_class = n / classes;
    std::vector<std::size_t> taken(classes, 0);
    std::vector<float> images;
    std::vector<int> labels;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const std::size_t c = std::size_t(d.labels()[i]);
        if (taken[c] == per_class) continue;
        ++taken[c];
        const auto image = d.image(i);
        images.insert(images.end(), image.begin(), image.end());
        labels.push_back(int(c));
    }
    for (std::size_t c = 0; c < classes; ++c)
        if (taken[c] < per_class)
            throw usage_error{std::string(flag) + " " + std::to_string(n) + ": class " +
                              std::to_string(c) + " of " + d.name() + " has only " +
                              std::to_string(taken[c]) + " images, fewer than " +
                              std::to_string(per_class)};
    return io::dataset(std::move(images), std::move(labels), d.shape(), classes, d.name());
}

/// One run of a cell under its orthogonality path's network type.
template <class Path>
run_outcome train_path(const io::train_test& d, const protocol& grid, const cell& where,
                       std::uint64_t seed, const sigint_flag& stop) {
    const beta_spec unit = unit_of(where.unit);
    const progress_options progress{.lines_per_epoch = 2};
    if (grid.net == "small")
        return train_run(maso_examples::small_cnn_ortho<1, 28, 28, Path>(unit), d.train, d.test,
                         grid, where, seed, progress, stop);
    if (d.train.classes() == 100)
        return train_run(maso_examples::large_cnn_ortho<Path, 100>(unit), d.train, d.test, grid,
                         where, seed, progress, stop);
    return train_run(maso_examples::large_cnn_ortho<Path, 10>(unit), d.train, d.test, grid, where,
                     seed, progress, stop);
}

run_outcome train_cell(const io::train_test& d, const protocol& grid, const cell& where,
                       std::uint64_t seed, const sigint_flag& stop) {
    if (where.ortho == "penalty")
        return train_path<ortho_path::penalty>(d, grid, where, seed, stop);
    if (where.ortho == "gram-schmidt")
        return train_path<ortho_path::gram_schmidt>(d, grid, where, seed, stop);
    if (where.ortho == "cholesky-qr")
        return train_path<ortho_path::cholesky_qr>(d, grid, where, seed, stop);
    return train_path<ortho_path::none>(d, grid, where, seed, stop);
}

struct planned_run {
    cell where;
    std::uint64_t seed;
    fs::path file;
};

std::string describe(const planned_run& p) {
    char lr[32];
    std::snprintf(lr, sizeof lr, "%g", p.where.lr);
    return p.where.unit + ", ortho " + p.where.ortho + ", lr " + lr + ", seed " +
           std::to_string(p.seed);
}

/// A finished run's record, checked against this grid's protocol.
run_record finished_run(const planned_run& p, const protocol& grid) {
    run_record r = read_record(p.file);
    if (const std::string d = first_difference(grid, r.grid); !d.empty())
        throw usage_error{p.file.string() + " is a run of another protocol (" + d +
                          "): give another --out, or delete the directory's runs"};
    return r;
}

std::string clock_text(double seconds) {
    const long s = long(std::lround(seconds));
    char text[32];
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    return text;
}

int experiment_main(options o, const std::chrono::steady_clock::time_point start) {
    if (o.threads > 0) set_num_threads(o.threads);
    if (o.out.empty()) {
        fs::path d = fs::absolute(o.data).lexically_normal();
        if (d.filename().empty()) d = d.parent_path(); // "…/fashion-mnist/"
        o.out = fs::path("docs") / "results" / (o.net + "-" + d.filename().string());
    }
    if (o.summary.empty()) o.summary = o.out / "results.md";
    if (o.image.empty()) o.image = o.out / "curves.png";
    summary_options so{.markdown = o.summary,
                       .image = o.image,
                       .work = o.out,
                       .command = o.command,
                       .gnuplot = o.gnuplot};
    const auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };

    if (o.summarise_only) {
        std::vector<run_record> records;
        if (fs::is_directory(o.out))
            for (const auto& entry : fs::directory_iterator(o.out))
                if (entry.path().extension() == ".json")
                    records.push_back(read_record(entry.path()));
        if (records.empty())
            throw usage_error{"--summarise-only: no run records (*.json) in " + o.out.string()};
        std::sort(records.begin(), records.end(),
                  [](const run_record& a, const run_record& b) { return a.seed < b.seed; });
        for (const run_record& r : records)
            if (const std::string d = first_difference(records.front().grid, r.grid); !d.empty())
                throw usage_error{o.out.string() + " holds runs of two protocols (" + d + ")"};
        so.planned = records.size();
        so.invocation_seconds = elapsed();
        write_summary(records, so);
        std::printf("experiment: %s written from the %zu runs in %s\n", o.summary.c_str(),
                    records.size(), o.out.c_str());
        return 0;
    }

    loaded data = load(o);
    const bool mnist_shape = data.sets.train.shape() == io::image_shape{1, 28, 28};
    if (o.net == "small" && !mnist_shape)
        throw usage_error{"--net small runs on MNIST-format data (1x28x28); " + o.data.string() +
                          " holds " + data.kind + " (--net large)"};
    if (o.net == "large" && mnist_shape)
        throw usage_error{"--net large runs on CIFAR-10 or CIFAR-100 (3x32x32); " +
                          o.data.string() + " holds MNIST-format images (--net small)"};
    const std::size_t classes = data.sets.train.classes();
    if (o.batch == 0) o.batch = classes == 100 ? 100 : 50; // the authors' batches
    if (o.batch % classes != 0)
        throw usage_error{"--batch " + std::to_string(o.batch) +
                          ": class-balanced batches need a multiple of the " +
                          std::to_string(classes) + " classes"};
    data.sets.train = class_balanced_subset(data.sets.train, o.train_images, "--train-images");
    data.sets.test = class_balanced_subset(data.sets.test, o.test_images, "--test-images");
    if (data.sets.train.size() < o.batch)
        throw usage_error{"--batch " + std::to_string(o.batch) + " is more than the " +
                          std::to_string(data.sets.train.size()) + " training images"};
    // What the sampler would refuse at the first run (a class without images, say), now.
    io::batch_sampler(data.sets.train, {.batch = o.batch, .order = io::sampling::class_balanced});
    io::centre_and_scale(data.sets.train);
    io::centre_and_scale(data.sets.test);
    const protocol grid{data.kind,
                        o.net,
                        o.epochs,
                        data.sets.train.size(),
                        data.sets.test.size(),
                        o.batch,
                        fs::absolute(o.data).lexically_normal().string()};

    std::vector<planned_run> plan;
    for (std::uint64_t seed = 1; seed <= o.seeds; ++seed)
        for (double lr : o.lrs)
            for (const std::string& unit : o.units)
                for (const std::string& ortho : o.orthos) {
                    const cell where{unit, ortho, lr};
                    plan.push_back({where, seed, o.out / run_file_name(where, seed)});
                }
    fs::create_directories(o.out);
    std::size_t to_train = 0;
    for (const planned_run& p : plan)
        to_train += !fs::exists(p.file);
    std::printf("experiment: %s, %s: %zu training and %zu test images, %zu classes; %zu runs of "
                "%zu epochs (%zu to train, %zu finished in %s); %zu threads, %s\n",
                o.net == "small" ? "smallCNN" : "largeCNN", data.kind.c_str(),
                data.sets.train.size(), data.sets.test.size(), classes, plan.size(), o.epochs,
                to_train, plan.size() - to_train, o.out.c_str(), num_threads(),
                xsimd::default_arch::name());
    std::fflush(stdout);

    // Ctrl-C between runs, or while one is built or written: the grid stops after it. During a
    // run's training the trainer's own flag takes over (train/sigint_flag.hpp).
    const sigint_flag stop;
    std::vector<run_record> records;
    double trained_seconds = 0;
    for (std::size_t k = 0; k < plan.size(); ++k) {
        const planned_run& p = plan[k];
        if (fs::exists(p.file)) {
            records.push_back(finished_run(p, grid));
            ++so.skipped;
            std::printf("experiment: [%zu/%zu] %s: finished before, %.2f%% (%s)\n", k + 1,
                        plan.size(), describe(p).c_str(), 100 * records.back().statistic(),
                        p.file.c_str());
            continue;
        }
        std::string eta = "after this run";
        if (so.trained > 0)
            eta = clock_text(trained_seconds / double(so.trained) * double(to_train - so.trained));
        std::printf("experiment: [%zu/%zu] %s: training (%zu of %zu to train; grid ETA %s)\n",
                    k + 1, plan.size(), describe(p).c_str(), so.trained + 1, to_train, eta.c_str());
        std::fflush(stdout);
        run_outcome run;
        try {
            run = train_cell(data.sets, grid, p.where, p.seed, stop);
        } catch (const numeric_error& e) {
            std::string what = e.what();
            if (what.rfind("maso: ", 0) == 0) what.erase(0, 6);
            throw numeric_error("maso: experiment: run " + describe(p) + ": " + what);
        }
        if (!run.finished) {
            std::printf("experiment: stopped by Ctrl-C in run %zu/%zu (%s), which is not kept; "
                        "the %zu finished runs are in %s: run the command again to go on\n",
                        k + 1, plan.size(), describe(p).c_str(), records.size(), o.out.c_str());
            return 130;
        }
        write_record(p.file, run.record);
        records.push_back(run.record);
        ++so.trained;
        trained_seconds += run.record.wall_seconds;
        std::printf("experiment: [%zu/%zu] %s: %.2f%% (mean test accuracy of the last %zu "
                    "epochs) in %.1f s -> %s\n",
                    k + 1, plan.size(), describe(p).c_str(), 100 * run.record.statistic(),
                    std::min<std::size_t>(3, o.epochs), run.record.wall_seconds, p.file.c_str());
        std::fflush(stdout);
        if (stop.raised() && k + 1 < plan.size()) {
            std::printf("experiment: stopped by Ctrl-C after run %zu/%zu, which is kept with "
                        "the %zu other finished runs in %s: run the command again to go on\n",
                        k + 1, plan.size(), records.size() - 1, o.out.c_str());
            return 130;
        }
    }
    so.planned = plan.size();
    so.invocation_seconds = elapsed();
    write_summary(records, so);
    std::printf("experiment: the grid is done: %zu runs (%zu trained now, %zu before) in %s; %s "
                "written\n",
                plan.size(), so.trained, so.skipped, clock_text(elapsed()).c_str(),
                o.summary.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const auto start = std::chrono::steady_clock::now();
    options o;
    CLI::App app("Reruns the paper's experiment: a grid of units x orthogonality paths x learning "
                 "rates x seeds, then docs/results.md (docs/results.md, issue 15).",
                 "experiment");
    app.add_option("--data", o.data,
                   "MNIST-format files (--net small), or CIFAR-10's or CIFAR-100's binary "
                   "version (--net large)")
        ->check(CLI::ExistingDirectory)
        ->capture_default_str();
    app.add_option("--net", o.net, "small (the authors' smallCNN) or large (the paper's largeCNN)")
        ->check(CLI::IsMember({"small", "large"}))
        ->capture_default_str();
    app.add_option("--units", o.units,
                   "units, comma-separated: relu (beta = 1), silu "
                   "(beta = 1/2), swish-learned (beta per channel)")
        ->delimiter(',')
        ->check(CLI::IsMember({"relu", "silu", "swish-learned"}))
        ->capture_default_str();
    app.add_option("--ortho", o.orthos,
                   "orthogonality paths, comma-separated: none, penalty (lambda = 1), "
                   "gram-schmidt, cholesky-qr (exact where K <= D, the penalty elsewhere)")
        ->delimiter(',')
        ->check(CLI::IsMember({"none", "penalty", "gram-schmidt", "cholesky-qr"}))
        ->capture_default_str();
    app.add_option("--lr", o.lrs,
                   "constant learning rates, comma-separated (default: 0.001; --net large: "
                   "0.0001,0.0005,0.001)")
        ->delimiter(',')
        ->check(positive);
    app.add_option("--seeds", o.seeds, "seeds 1..N per cell (default: 3; --net large: 5)")
        ->check(CLI::Range(std::size_t(1), std::size_t(1000)));
    app.add_option("--epochs", o.epochs, "epochs per run (default: 6; --net large: 120)")
        ->check(CLI::Range(std::size_t(1), std::size_t(100'000)));
    app.add_option("--train-images", o.train_images,
                   "training images, the first N/classes of each class; 0: all (default: 15000; "
                   "--net large: 0)")
        ->check(CLI::Range(std::size_t(0), std::size_t(100'000'000)));
    app.add_option("--test-images", o.test_images,
                   "test images, the first N/classes of each class; 0: all")
        ->check(CLI::Range(std::size_t(0), std::size_t(100'000'000)))
        ->capture_default_str();
    app.add_option("--batch", o.batch, "images per step (default: 50; CIFAR-100: 100)")
        ->check(CLI::Range(std::size_t(1), std::size_t(65'536)));
    app.add_option("--threads", o.threads, "threads (default: MASO_NUM_THREADS, else all)")
        ->check(CLI::Range(std::size_t(1), std::size_t(256)));
    app.add_option(
        "--out", o.out,
        "the directory of the run records (default: docs/results/NET-DATA, DATA the name "
        "of --data's directory)");
    app.add_option("--summary", o.summary, "the page to write (default: OUT/results.md)");
    app.add_option("--image", o.image, "the curves' PNG (default: OUT/curves.png)");
    app.add_option("--gnuplot", o.gnuplot, "the program that draws the PNG; '': no picture")
        ->capture_default_str();
    app.add_option("--command", o.command, "the command shown on the page (default: this one)");
    app.add_flag("--summarise-only", o.summarise_only,
                 "train nothing: write the page from the runs in --out");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::printf("%s", app.help().c_str());
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "experiment: %s (experiment --help lists the options)\n", e.what());
        return 2;
    }
    const bool large = o.net == "large";
    if (o.lrs.empty()) o.lrs = large ? large_lrs : std::vector<double>{0.001};
    if (o.seeds == 0) o.seeds = large ? large_seeds : small_seeds;
    if (o.epochs == 0) o.epochs = large ? large_epochs : small_epochs;
    if (app.get_option("--train-images")->count() == 0)
        o.train_images = large ? 0 : small_train_images;
    const auto unique = [](std::vector<std::string>& v) {
        std::vector<std::string> kept;
        for (const std::string& x : v)
            if (std::find(kept.begin(), kept.end(), x) == kept.end()) kept.push_back(x);
        v = kept;
    };
    unique(o.units);
    unique(o.orthos);
    std::sort(o.lrs.begin(), o.lrs.end());
    o.lrs.erase(std::unique(o.lrs.begin(), o.lrs.end()), o.lrs.end());
    if (o.command.empty())
        for (int i = 0; i < argc; ++i)
            o.command += (i ? " " : "") + std::string(argv[i]);
    try {
        return experiment_main(o, start);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "experiment: %s\n", e.message.c_str());
        return 2;
    } catch (const file_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const numeric_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
