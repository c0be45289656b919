// Tests of dsl_examples/experiment/record.hpp: a run's record survives its file, the statistic
// is the authors' (the mean of the last three epochs' test accuracy), protocols are compared
// field by field, and a file that is not a record is refused naming it.
#include <boost/test/unit_test.hpp>
#include <maso_test/io_files.hpp>

#include "experiment/record.hpp"

#include <cmath>
#include <string>

using namespace maso_examples::experiment;

namespace {

run_record example() {
    run_record r;
    r.grid = {"Fashion-MNIST", "small", 4, 15000, 10000, 50, "/data/fashion"};
    r.where = {"swish-learned", "cholesky-qr", 0.0005};
    r.seed = 3;
    for (std::size_t e = 1; e <= 4; ++e)
        r.epochs.push_back(
            {e, 1.0 / double(e), 0.5 + 0.1 * double(e), 0.6, 0.5 + 0.1 * double(e), 10.0, 1.0});
    r.layers.push_back({1, "conv2d<32, 3>", "ortho::penalty<off_diagonal>(λ = 1)", 32, 9, 0.5});
    r.betas.push_back({3, {0.25, 0.5, 0.75}});
    r.wall_seconds = 42;
    r.load_before = 1.5;
    r.load_after = std::nan(""); // no /proc/loadavg
    r.isa = "avx2";
    r.cpu = "a CPU";
    r.threads = 2;
    r.finished = "2026-01-01T00:00:00Z";
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_statistic_is_the_mean_of_the_last_three_epochs) {
    const run_record r = example(); // test accuracies 0.6, 0.7, 0.8, 0.9
    BOOST_TEST(r.statistic() == (0.7 + 0.8 + 0.9) / 3, boost::test_tools::tolerance(1e-15));
    run_record two = r;
    two.epochs.resize(2); // fewer than three: all of them
    BOOST_TEST(two.statistic() == (0.6 + 0.7) / 2, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(a_record_survives_its_file) {
    maso_test::temp_dir dir;
    const run_record r = example();
    const auto path = dir / run_file_name(r.where, r.seed);
    BOOST_TEST(path.filename().string() == "swish-learned_cholesky-qr_lr0.0005_seed3.json");
    write_record(path, r);
    BOOST_TEST(!std::filesystem::exists(path.string() + ".tmp"));
    const run_record back = read_record(path);
    BOOST_TEST((back.grid == r.grid));
    BOOST_TEST(back.where.unit == r.where.unit);
    BOOST_TEST(back.where.ortho == r.where.ortho);
    BOOST_TEST(back.where.lr == r.where.lr);
    BOOST_TEST(back.seed == r.seed);
    BOOST_REQUIRE(back.epochs.size() == 4u);
    BOOST_TEST(back.epochs[3].test_accuracy == r.epochs[3].test_accuracy);
    BOOST_TEST(back.statistic() == r.statistic());
    BOOST_REQUIRE(back.layers.size() == 1u);
    BOOST_TEST(back.layers[0].constraint == r.layers[0].constraint);
    BOOST_TEST(back.layers[0].defect == 0.5);
    BOOST_REQUIRE(back.betas.size() == 1u);
    BOOST_TEST(back.betas[0].betas == r.betas[0].betas);
    BOOST_TEST(back.load_before == 1.5);
    BOOST_TEST(std::isnan(back.load_after));
    BOOST_TEST(back.cpu == "a CPU");
}

BOOST_AUTO_TEST_CASE(protocols_differ_by_their_first_field) {
    const protocol a = example().grid;
    protocol b = a;
    b.data_dir = "/elsewhere"; // the same files elsewhere: the same protocol
    BOOST_TEST(first_difference(a, b).empty());
    b.epochs = 6;
    BOOST_TEST(first_difference(a, b) == "epochs: 4 here, 6 in the file");
    b = a;
    b.train_images = 60000;
    BOOST_TEST(first_difference(a, b) == "training images: 15000 here, 60000 in the file");
    b = a;
    b.net = "large";
    BOOST_TEST(first_difference(a, b) == "net: small here, large in the file");
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_record_is_refused_naming_it) {
    maso_test::temp_dir dir;
    const auto missing = dir / "missing.json";
    BOOST_TEST(maso_test::message_of<maso::file_error>([&] { read_record(missing); }) ==
               "maso: " + missing.string() + ": cannot be read");
    const auto broken = dir / "broken.json";
    maso_test::write_plain(broken, {'{', '"', 'a'});
    BOOST_TEST(maso_test::message_of<maso::file_error>([&] {
                   read_record(broken);
               }).find(broken.string() + ": not a run record of the experiment") !=
               std::string::npos);
    const auto other = dir / "other.json";
    const std::string text = R"({"format": "something else"})";
    maso_test::write_plain(other, maso_test::bytes(text.begin(), text.end()));
    BOOST_TEST(maso_test::message_of<maso::file_error>([&] {
                   read_record(other);
               }).find("its format is \"something else\"") != std::string::npos);
}
