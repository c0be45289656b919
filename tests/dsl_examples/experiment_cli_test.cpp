// Tests of dsl_examples/experiment.cpp, the grid runner of the paper's experiment, run as a
// child process on tiny data sets written here (MNIST-format, CIFAR-10 and CIFAR-100 files):
//   - a tiny grid (two cells, two seeds, one epoch, 300 images) writes a record per run with
//     what the page needs, and the page, whose cells are the records' mean ± sd;
//   - running it again trains nothing and changes no record; a deleted record is trained
//     again, alone; Ctrl-C stops the grid, keeps the finished runs, and the next call ends it;
//   - a directory of another protocol, a corrupt record and bad flags are refused with one line;
//   - largeCNN on CIFAR-10 under every orthogonality path, and on CIFAR-100, for one epoch.
#include <boost/test/unit_test.hpp>
#include <maso_test/child_process.hpp>
#include <maso_test/io_files.hpp>
#include <maso_test/tiny_mnist.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using maso_test::bytes;
using maso_test::outcome;

outcome run(const std::vector<std::string>& args,
            const std::function<bool(const std::string&)>& interrupt_when = {}) {
    return maso_test::run_child(MASO_EXPERIMENT_CLI, args, interrupt_when);
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
        ++n;
    return n;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<fs::path> records_in(const fs::path& dir) {
    std::vector<fs::path> files;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

/// 300 training and 100 test images (maso_test/tiny_mnist.hpp).
struct tiny_mnist : maso_test::tiny_mnist {
    tiny_mnist() : maso_test::tiny_mnist(300, 100) {}
};

/// CIFAR-10's binary version: 4 images in each of the five training files, 10 test images.
struct tiny_cifar10 {
    maso_test::temp_dir dir;

    tiny_cifar10() {
        for (unsigned b = 1; b <= 5; ++b)
            write("data_batch_" + std::to_string(b) + ".bin", 4, 4 * (b - 1), b);
        write("test_batch.bin", 10, 0, 9);
    }

    /// n images whose labels count on from `first` (every class twice over the five batches).
    void write(const std::string& name, std::size_t n, std::size_t first, unsigned seed) {
        bytes labels(n);
        for (std::size_t i = 0; i < n; ++i)
            labels[i] = std::uint8_t((first + i) % 10);
        maso_test::write_plain(
            dir / name,
            maso_test::cifar10_records(labels, maso_test::random_bytes(n * 3072, 256, seed)));
    }

    std::string path() const { return dir.path().string(); }
};

/// CIFAR-100's binary version: one image of each fine class in train.bin and in test.bin.
struct tiny_cifar100 {
    maso_test::temp_dir dir;

    tiny_cifar100() {
        write("train.bin", 1);
        write("test.bin", 2);
    }

    void write(const std::string& name, unsigned seed) {
        bytes coarse(100), fine(100);
        for (std::size_t i = 0; i < 100; ++i) {
            fine[i] = std::uint8_t(i);
            coarse[i] = std::uint8_t(i / 5);
        }
        maso_test::write_plain(dir / name,
                               maso_test::cifar100_records(
                                   coarse, fine, maso_test::random_bytes(100 * 3072, 256, seed)));
    }

    std::string path() const { return dir.path().string(); }
};

bool have_gnuplot() { return std::system("gnuplot --version >/dev/null 2>&1") == 0; }

/// "87.12 ± 0.34", as the page prints a cell: the mean and sample sd of the runs' statistic.
std::string cell_text(const std::vector<nlohmann::json>& runs) {
    std::vector<double> s;
    for (const auto& r : runs)
        s.push_back(r.at("statistic").get<double>());
    double mean = 0;
    for (double v : s)
        mean += v / double(s.size());
    double sq = 0;
    for (double v : s)
        sq += (v - mean) * (v - mean);
    char text[64];
    std::snprintf(text, sizeof text, "%.2f ± %.2f", 100 * mean,
                  100 * std::sqrt(sq / double(s.size() - 1)));
    return text;
}

nlohmann::json parse(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

/// The tiny grid: swish with a learned β, without a constraint and with the fast exact path,
/// seeds 1 and 2, one epoch of 300 images, a test of 100.
struct tiny_grid {
    tiny_mnist data;
    maso_test::temp_dir work;
    fs::path out = work / "runs", page = work / "docs" / "results.md",
             image = work / "docs" / "img" / "curves.png";

    std::vector<std::string> args(std::vector<std::string> more = {},
                                  const std::string& epochs = "1") const {
        std::vector<std::string> a{"--data",         data.path(),
                                   "--units",        "swish-learned",
                                   "--ortho",        "none,cholesky-qr",
                                   "--seeds",        "2",
                                   "--epochs",       epochs,
                                   "--train-images", "300",
                                   "--test-images",  "100",
                                   "--out",          out.string(),
                                   "--summary",      page.string(),
                                   "--image",        image.string(),
                                   "--command",      "experiment --tiny"};
        if (!have_gnuplot()) a.insert(a.end(), {"--gnuplot", ""});
        a.insert(a.end(), more.begin(), more.end());
        return a;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_tiny_grid_writes_its_runs_and_the_page) {
    tiny_grid g;
    const outcome o = run(g.args());
    BOOST_TEST_MESSAGE(o.out << o.err);
    BOOST_REQUIRE(o.status == 0);
    // Progress: a line per run as it starts and as it ends.
    for (int k = 1; k <= 4; ++k) {
        char tag[16]; // not "[" + to_string(k) + …: g++ 12's -Wrestrict false positive
        std::snprintf(tag, sizeof tag, "[%d/4]", k);
        BOOST_TEST(count(o.out, tag) == 2u, k);
    }
    BOOST_TEST(o.out.find("the grid is done: 4 runs (4 trained now, 0 before)") !=
               std::string::npos);

    const auto files = records_in(g.out);
    BOOST_REQUIRE(files.size() == 4u);
    std::map<std::string, std::vector<nlohmann::json>> cells;
    for (const fs::path& f : files) {
        BOOST_TEST_CONTEXT(f) {
            const nlohmann::json r = parse(f);
            const std::string ortho = r.at("cell").at("ortho");
            BOOST_TEST(f.filename().string() == "swish-learned_" + ortho + "_lr0.001_seed" +
                                                    std::to_string(r.at("seed").get<int>()) +
                                                    ".json");
            BOOST_TEST(r.at("protocol").at("epochs") == 1);
            BOOST_TEST(r.at("protocol").at("train_images") == 300);
            BOOST_TEST(r.at("protocol").at("test_images") == 100);
            BOOST_TEST(r.at("protocol").at("batch") == 50);
            BOOST_REQUIRE(r.at("epochs").size() == 1u);
            const double accuracy = r.at("epochs")[0].at("test_accuracy");
            BOOST_TEST((accuracy >= 0 && accuracy <= 1));
            // The statistic is the mean of the last three epochs': here, of the one.
            BOOST_TEST(r.at("statistic").get<double>() == accuracy);
            // smallCNN's four weights, K × D, and the path each layer takes.
            const auto& layers = r.at("layers");
            BOOST_REQUIRE(layers.size() == 4u);
            const std::size_t shapes[4][2] = {{32, 9}, {64, 288}, {128, 64}, {10, 128}};
            for (std::size_t k = 0; k < 4; ++k) {
                BOOST_TEST(layers[k].at("rows") == shapes[k][0]);
                BOOST_TEST(layers[k].at("cols") == shapes[k][1]);
                const std::string c = layers[k].at("constraint");
                const double defect = layers[k].at("defect");
                BOOST_TEST((defect >= 0 && defect <= 1));
                if (ortho == "none") {
                    BOOST_TEST(c == "ortho::none");
                } else if (shapes[k][0] <= shapes[k][1]) {
                    BOOST_TEST(c.find("cholesky_qr") != std::string::npos, c);
                    BOOST_TEST(defect <= 1e-5); // paper-spec §9.7
                } else {
                    BOOST_TEST(c.find("penalty") != std::string::npos, c);
                }
            }
            // Three units whose β each channel learned: 32, 64 and 128 values in (0, 1).
            const auto& betas = r.at("betas");
            BOOST_REQUIRE(betas.size() == 3u);
            for (std::size_t k = 0; k < 3; ++k) {
                BOOST_TEST(betas[k].at("betas").size() == shapes[k][0]);
                for (double b : betas[k].at("betas"))
                    BOOST_TEST((b > 0 && b < 1));
            }
            BOOST_TEST(r.at("wall_seconds").get<double>() > 0);
            cells[ortho].push_back(r);
        }
    }

    // The page: the command, each cell as mean ± sd of its records, the paper's numbers, the
    // generated reading and the picture.
    const std::string page = read(g.page);
    BOOST_TEST(page.find("experiment --tiny") != std::string::npos);
    for (const auto& [ortho, runs] : cells) {
        BOOST_REQUIRE(runs.size() == 2u);
        BOOST_TEST(page.find(cell_text(runs)) != std::string::npos,
                   ortho << ": " << cell_text(runs));
    }
    BOOST_TEST(page.find("| CIFAR10 Ortho | 84.0 ± 0.3 | 82.3 ± 0.1 | 79.1 ± 0.2 |") !=
               std::string::npos);
    BOOST_TEST(page.find("**Orthogonality helps**") != std::string::npos);
    BOOST_TEST(page.find("## Learned β") != std::string::npos);
    BOOST_TEST(page.find("## Wall time per run") != std::string::npos);
    BOOST_TEST(fs::exists(g.out / "curves-swish-learned.dat"));
    if (have_gnuplot()) {
        BOOST_TEST(page.find("](img/curves.png)") != std::string::npos);
        BOOST_TEST(read(g.image).rfind("\x89PNG", 0) == 0u);
    }

    // --summarise-only writes the same page from the records alone.
    fs::remove(g.page);
    const outcome again = run(g.args({"--summarise-only"}));
    BOOST_TEST(again.status == 0, again.err);
    for (const auto& [ortho, runs] : cells)
        BOOST_TEST(read(g.page).find(cell_text(runs)) != std::string::npos, ortho);
}

BOOST_AUTO_TEST_CASE(a_rerun_skips_finished_runs_and_trains_the_missing_one) {
    tiny_grid g;
    BOOST_REQUIRE(run(g.args()).status == 0);
    std::vector<std::string> before;
    for (const fs::path& f : records_in(g.out))
        before.push_back(read(f));

    const outcome again = run(g.args());
    BOOST_TEST(again.status == 0, again.err);
    BOOST_TEST(count(again.out, "finished before") == 4u);
    BOOST_TEST(count(again.out, ": training") == 0u);
    BOOST_TEST(again.out.find("epoch 1/1") == std::string::npos); // nothing trained
    std::vector<std::string> after;
    for (const fs::path& f : records_in(g.out))
        after.push_back(read(f));
    BOOST_TEST(before == after, "a rerun changed a record");
    BOOST_TEST(fs::exists(g.page));

    const fs::path lost = g.out / "swish-learned_cholesky-qr_lr0.001_seed2.json";
    BOOST_REQUIRE(fs::remove(lost));
    const outcome resumed = run(g.args());
    BOOST_TEST(resumed.status == 0, resumed.err);
    BOOST_TEST(count(resumed.out, "finished before") == 3u);
    BOOST_TEST(count(resumed.out, ": training") == 1u);
    BOOST_TEST(resumed.out.find("[4/4] swish-learned, ortho cholesky-qr, lr 0.001, seed 2: "
                                "training") != std::string::npos);
    BOOST_TEST(fs::exists(lost));
    BOOST_TEST(records_in(g.out).size() == 4u);
}

BOOST_AUTO_TEST_CASE(ctrl_c_stops_the_grid_and_the_next_call_finishes_it) {
    tiny_grid g;
    // SIGINT once the second run has started.
    const outcome stopped = run(g.args(), [](const std::string& out) {
        return out.find("[2/4] swish-learned, ortho cholesky-qr, lr 0.001, seed 1: training") !=
               std::string::npos;
    });
    BOOST_TEST_MESSAGE(stopped.out << stopped.err);
    BOOST_TEST(stopped.status == 130);
    BOOST_TEST(stopped.out.find("experiment: stopped by Ctrl-C") != std::string::npos);
    BOOST_TEST(stopped.err.find("Ctrl-C: stopping after this step") != std::string::npos);
    // The first run is kept; the second is kept only if it had ended before the signal came.
    const std::size_t kept = records_in(g.out).size();
    BOOST_TEST((kept == 1u || kept == 2u), kept);
    BOOST_TEST(fs::exists(g.out / "swish-learned_none_lr0.001_seed1.json"));
    for (const auto& e : fs::directory_iterator(g.out))
        BOOST_TEST(e.path().extension() != ".tmp", e.path());

    const outcome rest = run(g.args());
    BOOST_TEST(rest.status == 0, rest.err);
    BOOST_TEST(count(rest.out, "finished before") == kept);
    BOOST_TEST(count(rest.out, ": training") == 4 - kept);
    BOOST_TEST(records_in(g.out).size() == 4u);
}

BOOST_AUTO_TEST_CASE(another_protocol_and_a_corrupt_record_are_refused) {
    tiny_grid g;
    BOOST_REQUIRE(run(g.args()).status == 0);
    const outcome other = run(g.args({}, "2"));
    BOOST_TEST(other.status == 2);
    BOOST_TEST(count(other.err, "\n") == 1u, other.err);
    BOOST_TEST(other.err.find(".json is a run of another protocol (epochs: 2 here, 1 in the "
                              "file)") != std::string::npos,
               other.err);
    BOOST_TEST(other.out.find("epoch 1/") == std::string::npos);

    const fs::path bad = g.out / "swish-learned_none_lr0.001_seed2.json";
    maso_test::write_plain(bad, bytes{'{', '"', 'x'});
    const outcome corrupt = run(g.args());
    BOOST_TEST(corrupt.status == 1);
    BOOST_TEST(count(corrupt.err, "\n") == 1u, corrupt.err);
    BOOST_TEST(corrupt.err.find(bad.string() + ": not a run record of the experiment") !=
                   std::string::npos,
               corrupt.err);
}

BOOST_AUTO_TEST_CASE(bad_flags_and_values_exit_2_with_one_line) {
    tiny_mnist data;
    tiny_cifar10 cifar;
    maso_test::temp_dir empty, work;
    const std::string out = (work / "runs").string();
    const auto with = [&](std::vector<std::string> more) {
        std::vector<std::string> a{"--data", data.path(), "--out", out, "--gnuplot", ""};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    const std::vector<std::vector<std::string>> cases{
        {"--data", "/no/such/directory"},
        {"--data", empty.path().string(), "--out", out},
        with({"--net", "medium"}),
        with({"--net", "large"}),               // MNIST-format images are not 3x32x32
        {"--data", cifar.path(), "--out", out}, // smallCNN here runs on MNIST-format data
        with({"--units", "tanh"}),
        with({"--units", "relu,tanh"}),
        with({"--ortho", "qr"}),
        with({"--lr", "-1"}),
        with({"--lr", "0"}),
        with({"--lr", "nan"}),
        with({"--lr", "0.001,x"}),
        with({"--seeds", "0"}),
        with({"--epochs", "0"}),
        with({"--epochs", "many"}),
        with({"--train-images", "15"}),   // not a multiple of the 10 classes
        with({"--train-images", "5000"}), // more than the 300 images
        with({"--test-images", "7"}),
        with({"--batch", "0"}),
        with({"--batch", "15"}),  // class-balanced: not a multiple of the classes
        with({"--batch", "400"}), // more than the training images
        with({"--threads", "0"}),
        with({"--summarise-only"}), // no records in --out
        with({"--bogus"}),
        with({"--epochs"}),
    };
    for (const auto& args : cases) {
        std::string line;
        for (const auto& a : args)
            line += a + " ";
        BOOST_TEST_CONTEXT("experiment " << line) {
            const outcome o = run(args);
            BOOST_TEST(o.status == 2);
            BOOST_TEST(count(o.err, "\n") == 1u, "stderr: " << o.err);
            BOOST_TEST((o.err.rfind("experiment: ", 0) == 0 || o.err.rfind("maso: ", 0) == 0),
                       o.err);
            BOOST_TEST(o.out.find("epoch") == std::string::npos); // nothing was trained
        }
    }
}

BOOST_AUTO_TEST_CASE(help_exits_0_and_names_every_flag) {
    const outcome o = run({"--help"});
    BOOST_TEST(o.status == 0);
    for (const char* flag : {"--data", "--net", "--units", "--ortho", "--lr", "--seeds", "--epochs",
                             "--train-images", "--test-images", "--batch", "--threads", "--out",
                             "--summary", "--image", "--gnuplot", "--command", "--summarise-only"})
        BOOST_TEST(o.out.find(flag) != std::string::npos, flag);
}

// The large path: largeCNN for one epoch of 20 images (2 steps of 10) on CIFAR-10 under every
// orthogonality path, and one step of 100 on CIFAR-100.
BOOST_AUTO_TEST_CASE(large_cnn_on_cifar10_under_every_path_and_on_cifar100) {
    tiny_cifar10 cifar10;
    maso_test::temp_dir work;
    const outcome o = run({"--net",     "large",
                           "--data",    cifar10.path(),
                           "--units",   "swish-learned",
                           "--ortho",   "none,penalty,gram-schmidt,cholesky-qr",
                           "--lr",      "0.001",
                           "--seeds",   "1",
                           "--epochs",  "1",
                           "--batch",   "10",
                           "--out",     (work / "c10").string(),
                           "--gnuplot", ""});
    BOOST_TEST_MESSAGE(o.out << o.err);
    BOOST_REQUIRE(o.status == 0);
    const auto files = records_in(work / "c10");
    BOOST_REQUIRE(files.size() == 4u);
    for (const fs::path& f : files) {
        BOOST_TEST_CONTEXT(f) {
            const nlohmann::json r = parse(f);
            BOOST_TEST(r.at("protocol").at("data") == "CIFAR-10");
            BOOST_TEST(r.at("protocol").at("net") == "large");
            BOOST_TEST(r.at("protocol").at("train_images") == 20);
            BOOST_TEST(r.at("protocol").at("test_images") == 10);
            const auto& layers = r.at("layers");
            BOOST_REQUIRE(layers.size() == 9u);
            BOOST_TEST(layers[0].at("rows") == 96);
            BOOST_TEST(layers[0].at("cols") == 27);
            BOOST_TEST(layers[8].at("rows") == 10);
            const std::string ortho = r.at("cell").at("ortho");
            for (std::size_t k = 0; k < 9; ++k) {
                const std::string c = layers[k].at("constraint");
                if (ortho == "gram-schmidt" || ortho == "cholesky-qr") {
                    // Only the first layer, 96 filters of 27, cannot be exact.
                    BOOST_TEST(c.find(k == 0 ? "penalty"
                                      : ortho == "gram-schmidt"
                                          ? "gram_schmidt"
                                          : "cholesky_qr") != std::string::npos,
                               k << ": " << c);
                    if (k > 0) BOOST_TEST(layers[k].at("defect").get<double>() <= 1e-5, k);
                } else {
                    BOOST_TEST(c.find(ortho == "none" ? "none" : "penalty") != std::string::npos,
                               k << ": " << c);
                }
            }
            BOOST_TEST(r.at("betas").size() == 8u);
        }
    }
    BOOST_TEST(fs::exists(work / "c10" / "results.md"));

    tiny_cifar100 cifar100;
    const outcome c100 = run({"--net", "large", "--data", cifar100.path(), "--units", "relu",
                              "--ortho", "penalty", "--lr", "0.001", "--seeds", "1", "--epochs",
                              "1", "--out", (work / "c100").string(), "--gnuplot", ""});
    BOOST_TEST_MESSAGE(c100.out << c100.err);
    BOOST_REQUIRE(c100.status == 0);
    const auto c100_files = records_in(work / "c100");
    BOOST_REQUIRE(c100_files.size() == 1u);
    const nlohmann::json r = parse(c100_files[0]);
    BOOST_TEST(r.at("protocol").at("data") == "CIFAR-100");
    BOOST_TEST(r.at("protocol").at("batch") == 100); // the authors' batch for CIFAR-100
    BOOST_TEST(r.at("layers")[8].at("rows") == 100);
    BOOST_TEST(r.at("betas").size() == 0u); // ReLU learns no β
}
