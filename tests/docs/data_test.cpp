// Tests of docs/data.md: its examples, built and run as the page shows them
// (tests/docs/quotes_test.cpp checks that the page quotes these lines): Fashion-MNIST from
// Debian's dataset-fashion-mnist (which dsl_examples.fashion_mnist reads too), small CIFAR files
// written here, preprocessing, and one epoch of batches, synchronous and prefetched.
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include <maso_test/io_files.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace {

/// A classifier of Fashion-MNIST's 1×28×28 images, small enough for an epoch in a test.
const auto net = maso::input<1, 28, 28>() >>
                 maso::flatten() >> maso::dense<10>() >> maso::softmax_cross_entropy();

/// Small CIFAR-10 and CIFAR-100 files under the names the pages use, in `root`.
void write_cifar(const std::filesystem::path& root) {
    using namespace maso_test;
    std::filesystem::create_directories(root / "cifar-10-batches-bin");
    std::filesystem::create_directories(root / "cifar-100-binary");
    const bytes pixels = random_bytes(4 * 3072);
    for (const std::string name : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                                   "data_batch_5", "test_batch"})
        write_plain(root / "cifar-10-batches-bin" / (name + ".bin"),
                    cifar10_records(random_bytes(4, 10, 2), pixels));
    for (const std::string name : {"train", "test"})
        write_plain(root / "cifar-100-binary" / (name + ".bin"),
                    cifar100_records(random_bytes(4, 20, 3), random_bytes(4, 100, 4), pixels));
}

/// Runs a test in a directory of its own.
struct in_directory {
    std::filesystem::path before = std::filesystem::current_path();
    explicit in_directory(const std::filesystem::path& p) { std::filesystem::current_path(p); }
    ~in_directory() { std::filesystem::current_path(before); }
};

} // namespace

BOOST_AUTO_TEST_CASE(load_preprocess_and_batch) {
    const maso_test::temp_dir scratch;
    write_cifar(scratch.path());
    const in_directory here(scratch.path());
    const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";

    // Quoted by docs/data.md as it is:
    // clang-format off
    namespace io = maso::io;

    // MNIST or Fashion-MNIST: the four files under their published names, plain or .gz.
    auto [train, test] = io::load_mnist("/usr/share/datasets/fashion-mnist");
    // train: 60000 images of 1x28x28, test: 10000; pixels p/255 in [0, 1].

    // One IDX pair, with the number of classes (default 10):
    io::dataset t10k = io::load_idx(dir / "t10k-images-idx3-ubyte.gz",
                                    dir / "t10k-labels-idx1-ubyte.gz");

    // CIFAR, the "binary version" archives, unpacked:
    auto c10 = io::load_cifar10("cifar-10-batches-bin");  // data_batch_1..5.bin, test_batch.bin
    auto c100 = io::load_cifar100("cifar-100-binary");    // train.bin, test.bin; fine labels
    // Any list of CIFAR files, such as a single batch for a quick run:
    const std::filesystem::path one[] = {"cifar-10-batches-bin/data_batch_1.bin"};
    io::dataset small = io::load_cifar(one, io::cifar_format::cifar10);
    // clang-format on

    BOOST_TEST(train.size() == 60000u);
    BOOST_TEST(test.size() == 10000u);
    BOOST_TEST(t10k.size() == 10000u);
    BOOST_TEST(c10.train.size() == 5 * 4u);
    BOOST_TEST(c10.test.size() == 4u);
    BOOST_TEST(c100.train.size() == 4u);
    BOOST_TEST(small.size() == 4u);

    // Quoted by docs/data.md as it is:
    // clang-format off
    // The authors' per-image normalisation (paper-spec §7): x ← x − mean(x), then
    // x ← x / max|x|, over each image's C·H·W values. An image that is all one
    // value (for example all zero) stays all zero.
    io::centre_and_scale(train);
    io::centre_and_scale(test);

    // Per-channel standardisation. The statistics come from the training set and
    // are applied to both sets.
    const io::channel_statistics stats = io::channel_statistics_of(train);
    io::standardise(train, stats);   // x ← (x − mean_c) / std_c
    io::standardise(test, stats);
    // clang-format on

    // Quoted by docs/data.md as it is:
    // clang-format off
    const std::size_t batch = 50;
    auto model = maso::instantiate(net, batch);   // net: a chain ending in softmax_cross_entropy()
    maso::sgd opt(model, {.learning_rate = 0.01f});
    io::batch_sampler sampler(train, {.batch = batch, .order = io::sampling::class_balanced,
                                      .seed = 1});
    io::augmenter augment(train.shape(), {.pad = 4, .flip = true}, /*seed*/ 2);
    std::vector<float> x(batch * train.shape().size());
    std::vector<int> y(batch);
    for (std::size_t step = 0; step < sampler.steps_per_epoch(); ++step) {
        io::gather(train, sampler.next(), x, y);
        augment.apply(x);                      // in place
        model.zero_gradients();
        model.forward(x, y);
        model.backward();
        opt.step();
    }
    // clang-format on
    BOOST_TEST(sampler.steps_per_epoch() == 1200u);

    // Quoted by docs/data.md as it is:
    // clang-format off
    io::prefetcher batches(train, io::batch_sampler(train, {.batch = 50, .seed = 1}),
                           {.augment = io::augmenter(train.shape(), {.pad = 4}, 2)});
    for (std::size_t step = 0; step < batches.steps_per_epoch(); ++step) {
        io::batch_view b = batches.next();   // b.images, b.labels, b.epoch, b.step
        model.zero_gradients();
        model.forward(b.images, b.labels);
        model.backward();
        opt.step();
    }
    // clang-format on
    BOOST_TEST(opt.step_count() == 2400u);
}
