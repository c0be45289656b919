// Tests of dsl_examples/train.cpp, the command-line trainer, run as a child process on a tiny
// MNIST-format data set written here: a bad flag or value exits 2 with one line on stderr;
// --help exits 0; a run trains, saves and resumes; Ctrl-C (SIGINT) finishes the step, saves and
// exits 130; a corrupt data file and a diverging run exit 1 with one line naming the problem.
#include <boost/test/unit_test.hpp>
#include <maso_test/child_process.hpp>
#include <maso_test/io_files.hpp>
#include <maso_test/tiny_mnist.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace {

using maso_test::bytes;

using maso_test::outcome;

/// Runs the trainer with `args`; with `interrupt_at`, sends SIGINT once its standard output
/// holds that text.
outcome run_cli(const std::vector<std::string>& args, const std::string& interrupt_at = {}) {
    if (interrupt_at.empty()) return maso_test::run_child(MASO_TRAIN_CLI, args);
    return maso_test::run_child(MASO_TRAIN_CLI, args, [&](const std::string& out) {
        return out.find(interrupt_at) != std::string::npos;
    });
}

std::size_t count(const std::string& s, char c) {
    return std::size_t(std::count(s.begin(), s.end(), c));
}

/// 60 training and 20 test images (maso_test/tiny_mnist.hpp).
struct tiny_mnist : maso_test::tiny_mnist {
    tiny_mnist() : maso_test::tiny_mnist(60, 20) {}
};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::size_t lines_of(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);)
        ++n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(bad_flags_and_values_exit_2_with_one_line) {
    tiny_mnist data;
    maso_test::temp_dir empty;
    const std::vector<std::string> d{"--data", data.path()};
    const std::vector<std::vector<std::string>> cases{
        {},
        {"--data", "/no/such/directory"},
        {"--data", empty.path().string()},
        with(d, {"--net", "medium"}),
        with(d, {"--net", "large"}), // largeCNN takes 3x32x32 images
        with(d, {"--unit", "tanh"}),
        with(d, {"--optimizer", "rmsprop"}),
        with(d, {"--epochs", "0"}),
        with(d, {"--epochs", "many"}),
        with(d, {"--batch", "0"}),
        with(d, {"--batch", "15"}), // class-balanced: not a multiple of the 10 classes
        with(d, {"--lr", "-1"}),
        with(d, {"--lr", "nan"}),
        with(d, {"--seed", "-1"}),
        with(d, {"--threads", "0"}),
        with(d, {"--fuse", "some"}),
        with(d, {"--order", "random"}),
        with(d, {"--schedule", "step"}),
        with(d, {"--save", "/no/such/directory/run.safetensors"}),
        with(d, {"--csv", "/no/such/directory/run.csv"}),
        with(d, {"--load", "/no/such/file"}),
        with(d, {"--bogus"}),
        with(d, {"--epochs"}),
    };
    for (const auto& args : cases) {
        std::string line;
        for (const auto& a : args)
            line += a + " ";
        BOOST_TEST_CONTEXT("train " << line) {
            const outcome o = run_cli(args);
            BOOST_TEST(o.status == 2);
            BOOST_TEST(count(o.err, '\n') == 1u, "stderr: " << o.err);
            BOOST_TEST((o.err.rfind("train: ", 0) == 0 || o.err.rfind("maso: ", 0) == 0));
            BOOST_TEST(o.out.find("epoch") == std::string::npos); // nothing was trained
        }
    }
}

BOOST_AUTO_TEST_CASE(help_exits_0) {
    const outcome o = run_cli({"--help"});
    BOOST_TEST(o.status == 0);
    for (const char* flag : {"--data", "--net", "--unit", "--optimizer", "--epochs", "--batch",
                             "--lr", "--seed", "--threads", "--save", "--load", "--fuse", "--csv"})
        BOOST_TEST(o.out.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(trains_saves_and_resumes) {
    tiny_mnist data;
    const auto save = data.dir / "run.safetensors", csv = data.dir / "run.csv";
    const std::vector<std::string> common{
        "--data",      data.path(), "--batch",    "10",     "--save",
        save.string(), "--csv",     csv.string(), "--seed", "3"};
    const outcome first = run_cli(with(common, {"--epochs", "1"}));
    BOOST_TEST_MESSAGE(first.out << first.err);
    BOOST_TEST(first.status == 0);
    BOOST_TEST(first.out.find("train: test accuracy ") != std::string::npos);
    BOOST_TEST(std::filesystem::exists(save));
    BOOST_TEST(lines_of(csv) == 2u);
    const outcome second = run_cli(
        with(common, {"--epochs", "2", "--load", save.string(), "--unit", "swish-learned"}));
    BOOST_TEST_MESSAGE(second.out << second.err);
    BOOST_TEST(second.status == 0);
    BOOST_TEST(second.out.find("resumed from " + save.string() + " at step 6 (epoch 2)") !=
               std::string::npos);
    BOOST_TEST(lines_of(csv) == 3u);
    // Another network's checkpoint (ReLU has no θ to load) or optimiser's: a file error, exit 1.
    const outcome relu =
        run_cli(with(common, {"--epochs", "3", "--load", save.string(), "--unit", "relu"}));
    BOOST_TEST(relu.status == 1);
    BOOST_TEST(count(relu.err, '\n') == 1u);
    BOOST_TEST(relu.err.find("written for another network") != std::string::npos, relu.err);
    const outcome sgd =
        run_cli(with(common, {"--epochs", "3", "--load", save.string(), "--optimizer", "sgd"}));
    BOOST_TEST(sgd.status == 1);
    BOOST_TEST(count(sgd.err, '\n') == 1u);
    BOOST_TEST(sgd.err.find("holds the state of a \"adam\" optimiser, not of a \"sgd\"") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(ctrl_c_finishes_the_step_saves_and_exits_130) {
    tiny_mnist data;
    const auto save = data.dir / "run.safetensors";
    const outcome o = run_cli(
        {"--data", data.path(), "--batch", "10", "--epochs", "100000", "--save", save.string()},
        "epoch 1/100000 step");
    BOOST_TEST_MESSAGE(o.out << o.err);
    BOOST_TEST(o.status == 130);
    BOOST_TEST(o.out.find("stopped by Ctrl-C after step ") != std::string::npos);
    BOOST_TEST(o.out.find("checkpoint saved to " + save.string()) != std::string::npos);
    BOOST_TEST(o.err.find("Ctrl-C: stopping after this step") != std::string::npos);
    BOOST_TEST(std::filesystem::exists(save));
    // The checkpoint resumes.
    const outcome resumed = run_cli({"--data", data.path(), "--batch", "10", "--epochs", "100000",
                                     "--load", save.string(), "--save", save.string()},
                                    "/100000 step");
    BOOST_TEST(resumed.status == 130);
    BOOST_TEST(resumed.out.find("resumed from " + save.string()) != std::string::npos);
    BOOST_TEST(resumed.out.find("stopped by Ctrl-C after step ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_corrupt_file_and_a_diverging_run_exit_1) {
    tiny_mnist data;
    // The training images cut short.
    {
        tiny_mnist cut;
        bytes b = maso_test::idx_images(60, 28, 28, maso_test::random_bytes(60 * 784));
        b.resize(b.size() / 2);
        std::filesystem::remove(cut.dir / "train-images-idx3-ubyte.gz");
        maso_test::write_plain(cut.dir / "train-images-idx3-ubyte", b);
        const outcome o = run_cli({"--data", cut.path()});
        BOOST_TEST(o.status == 1);
        BOOST_TEST(count(o.err, '\n') == 1u);
        BOOST_TEST(o.err.find("train-images-idx3-ubyte: truncated") != std::string::npos, o.err);
    }
    // A learning rate that sends the parameters to infinity: the loss stops being finite.
    const outcome o = run_cli({"--data", data.path(), "--batch", "10", "--epochs", "3", "--lr",
                               "1e30", "--optimizer", "sgd"});
    BOOST_TEST_MESSAGE(o.err);
    BOOST_TEST(o.status == 1);
    BOOST_TEST(count(o.err, '\n') == 1u);
    BOOST_TEST(o.err.rfind("maso: step ", 0) == 0);
    BOOST_TEST(o.err.find(" node ") != std::string::npos);
}
