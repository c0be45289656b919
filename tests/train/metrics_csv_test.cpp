// Tests of include/maso/train/metrics_csv.hpp: the header and one row per epoch, empty test
// columns without a test set, a new run replacing the file and a resumed one appending, and
// the file errors.
#include <maso/train/metrics_csv.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace maso;

namespace {
std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::filesystem::path temp_file(const char* name) {
    return std::filesystem::temp_directory_path() /
           (std::string("maso-csv-test-") + std::to_string(::getpid()) + "-" + name);
}

epoch_metrics sample(std::size_t epoch, bool evaluated) {
    epoch_metrics m;
    m.epoch = epoch;
    m.epochs = 3;
    m.step = 600 * epoch;
    m.train_loss = 0.5;
    m.train_accuracy = 0.8125;
    m.evaluated = evaluated;
    m.test_loss = 0.25;
    m.test_accuracy = 0.875;
    m.learning_rate = 0.001;
    m.seconds = 23.5;
    m.eval_seconds = 1.25;
    m.images_per_second = 2553.25;
    return m;
}
} // namespace

BOOST_AUTO_TEST_CASE(a_header_and_a_row_an_epoch) {
    const auto path = temp_file("rows.csv");
    {
        metrics_csv csv(path);
        csv.write(sample(1, true));
        // Flushed at once: readable while the run goes on.
        BOOST_TEST(read(path) == std::string(metrics_csv::header) +
                                     "1,600,0.5,0.8125,0.25,0.875,0.001,23.500,1.250,2553.2\n");
        csv.write(sample(2, false));
    }
    BOOST_TEST(read(path) == std::string(metrics_csv::header) +
                                 "1,600,0.5,0.8125,0.25,0.875,0.001,23.500,1.250,2553.2\n"
                                 "2,1200,0.5,0.8125,,,0.001,23.500,1.250,2553.2\n");
    // A resumed run appends without a second header; a new run starts the file again.
    { metrics_csv(path, true).write(sample(3, true)); }
    const std::string three = read(path);
    BOOST_TEST(three.find("3,1800,") != std::string::npos);
    BOOST_TEST(three.find("epoch,", 1) == std::string::npos);
    { metrics_csv(path, false).write(sample(1, true)); }
    BOOST_TEST(read(path) == std::string(metrics_csv::header) +
                                 "1,600,0.5,0.8125,0.25,0.875,0.001,23.500,1.250,2553.2\n");
    // Appending to an empty file writes the header.
    std::filesystem::remove(path);
    { metrics_csv(path, true).write(sample(1, false)); }
    BOOST_TEST(read(path).rfind(metrics_csv::header, 0) == 0);
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(files_that_cannot_be_written_are_refused) {
    const auto dir = temp_file("no-such-dir");
    try {
        metrics_csv csv(dir / "x.csv");
        BOOST_FAIL("opened a file in a missing directory");
    } catch (const file_error& e) {
        BOOST_TEST(e.path() == (dir / "x.csv").string());
        BOOST_TEST(std::string(e.what()).find(": cannot open for writing: No such file") !=
                   std::string::npos);
    }
    // /dev/full opens and refuses every write: the header's flush fails.
    if (std::filesystem::exists("/dev/full")) {
        BOOST_CHECK_EXCEPTION(metrics_csv("/dev/full"), file_error, [](const file_error& e) {
            return std::string(e.what()) ==
                   "maso: /dev/full: cannot write: No space left on device";
        });
    }
}
