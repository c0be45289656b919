// Tests of include/maso/io/idx.hpp: files written here byte by byte (plain and gzip)
// read back exactly; every refused file named with its problem; 300 random
// corruptions that must each load consistently or throw maso::error; and the real
// Fashion-MNIST of Debian's dataset-fashion-mnist package against its published facts.
#include <maso/io/idx.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/io_files.hpp>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace maso_test;
namespace io = maso::io;

namespace {

constexpr std::uint32_t n = 7, h = 5, w = 4;

struct idx_pair {
    bytes pixels = random_bytes(n * h * w, 256, 11);
    bytes labels = random_bytes(n, 10, 12);
    bytes images_file = idx_images(n, h, w, pixels);
    bytes labels_file = idx_labels(labels);
};

/// Every value of `d` is what the bytes say: pixel p is p/255, labels as written.
void check_matches(const io::dataset& d, const idx_pair& src) {
    BOOST_REQUIRE_EQUAL(d.size(), n);
    BOOST_CHECK(d.shape() == (io::image_shape{1, h, w}));
    BOOST_CHECK_EQUAL(d.classes(), 10u);
    BOOST_REQUIRE_EQUAL(d.images().size(), src.pixels.size());
    for (std::size_t i = 0; i < src.pixels.size(); ++i)
        BOOST_CHECK_EQUAL(d.images()[i], float(src.pixels[i]) / 255.f);
    for (std::size_t i = 0; i < n; ++i)
        BOOST_CHECK_EQUAL(d.labels()[i], int(src.labels[i]));
}

/// Writes the pair (plain) and returns the message of the file_error loading it.
std::string refusal(const bytes& images, const bytes& labels, std::size_t classes = 10) {
    temp_dir dir;
    write_plain(dir / "images", images);
    write_plain(dir / "labels", labels);
    return message_of<maso::file_error>(
        [&] { io::load_idx(dir / "images", dir / "labels", classes); });
}

} // namespace

BOOST_AUTO_TEST_CASE(plain_files_read_back_exactly) {
    temp_dir dir;
    const idx_pair src;
    write_plain(dir / "img", src.images_file);
    write_plain(dir / "lab", src.labels_file);
    const auto d = io::load_idx(dir / "img", dir / "lab");
    check_matches(d, src);
    BOOST_CHECK_EQUAL(d.name(), (dir / "img").string());
    // 0 and 255 map to the ends of [0, 1] exactly.
    BOOST_CHECK_EQUAL(float(0) / 255.f, 0.f);
}

BOOST_AUTO_TEST_CASE(gzip_files_read_back_exactly) {
    temp_dir dir;
    const idx_pair src;
    write_gzip(dir / "img.gz", src.images_file);
    write_gzip(dir / "lab.gz", src.labels_file);
    check_matches(io::load_idx(dir / "img.gz", dir / "lab.gz"), src);
}

BOOST_AUTO_TEST_CASE(extreme_pixels_are_0_and_1) {
    temp_dir dir;
    write_plain(dir / "img", idx_images(1, 1, 2, {0, 255}));
    write_plain(dir / "lab", idx_labels({3}));
    const auto d = io::load_idx(dir / "img", dir / "lab");
    BOOST_CHECK_EQUAL(d.images()[0], 0.f);
    BOOST_CHECK_EQUAL(d.images()[1], 1.f);
}

BOOST_AUTO_TEST_CASE(a_directory_with_the_standard_names_gives_train_and_test) {
    temp_dir dir;
    const idx_pair train, test;
    // One of each form: the loader must find .gz and plain names alike.
    write_gzip(dir / "train-images-idx3-ubyte.gz", train.images_file);
    write_plain(dir / "train-labels-idx1-ubyte", train.labels_file);
    write_plain(dir / "t10k-images-idx3-ubyte", test.images_file);
    write_gzip(dir / "t10k-labels-idx1-ubyte.gz", test.labels_file);
    auto [tr, te] = io::load_mnist(dir.path());
    check_matches(tr, train);
    check_matches(te, test);
}

BOOST_AUTO_TEST_CASE(more_classes_admit_larger_labels) {
    temp_dir dir;
    write_plain(dir / "img", idx_images(2, 1, 1, {1, 2}));
    write_plain(dir / "lab", idx_labels({11, 0}));
    const auto d = io::load_idx(dir / "img", dir / "lab", 12);
    BOOST_CHECK_EQUAL(d.classes(), 12u);
    BOOST_CHECK_EQUAL(d.labels()[0], 11);
}

// ---- refused files -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_missing_file_is_named) {
    temp_dir dir;
    const idx_pair src;
    write_plain(dir / "img", src.images_file);
    const auto m =
        message_of<maso::file_error>([&] { io::load_idx(dir / "img", dir / "no-labels-here"); });
    MASO_CHECK_MESSAGE_HAS(m, "maso: " + (dir / "no-labels-here").string() + ": no such file");
    const auto m2 = message_of<maso::file_error>([&] { io::load_mnist(dir / "nowhere"); });
    MASO_CHECK_MESSAGE_HAS(m2, "train-images-idx3-ubyte: no such file");
}

BOOST_AUTO_TEST_CASE(a_directory_is_not_a_data_file) {
    temp_dir dir;
    std::filesystem::create_directory(dir / "sub");
    const auto m = message_of<maso::file_error>([&] { io::load_idx(dir / "sub", dir / "sub"); });
    MASO_CHECK_MESSAGE_HAS(m, (dir / "sub").string() + ": not a regular file");
}

BOOST_AUTO_TEST_CASE(wrong_magic_numbers_are_named) {
    const idx_pair src;
    // The two files swapped: each magic is the other's.
    auto m = refusal(src.labels_file, src.images_file);
    MASO_CHECK_MESSAGE_HAS(m, "/images: wrong magic number 0x00000801, expected 0x00000803");
    MASO_CHECK_MESSAGE_HAS(m, "labels file");
    bytes bad = src.images_file;
    bad[2] = 0x0d; // floats, not unsigned bytes
    m = refusal(bad, src.labels_file);
    MASO_CHECK_MESSAGE_HAS(m, "/images: wrong magic number 0x00000d03");
    bad = src.labels_file;
    bad[3] = 0x02;
    m = refusal(src.images_file, bad);
    MASO_CHECK_MESSAGE_HAS(m, "/labels: wrong magic number 0x00000802, expected 0x00000801");
}

BOOST_AUTO_TEST_CASE(a_short_header_is_truncated) {
    const idx_pair src;
    const bytes head(src.images_file.begin(), src.images_file.begin() + 10);
    MASO_CHECK_MESSAGE_HAS(refusal(head, src.labels_file),
                           "/images: truncated: expected 16 bytes of header, got 10");
    MASO_CHECK_MESSAGE_HAS(refusal(src.images_file, {}),
                           "/labels: truncated: expected 8 bytes of header, got 0");
}

BOOST_AUTO_TEST_CASE(truncated_payloads_say_how_much_is_missing) {
    const idx_pair src;
    bytes img = src.images_file;
    img.resize(img.size() - 30);
    MASO_CHECK_MESSAGE_HAS(refusal(img, src.labels_file),
                           "/images: truncated: expected 140 bytes of images, got 110");
    bytes lab = src.labels_file;
    lab.pop_back();
    MASO_CHECK_MESSAGE_HAS(refusal(src.images_file, lab),
                           "/labels: truncated: expected 7 bytes of labels, got 6");
}

BOOST_AUTO_TEST_CASE(a_truncated_gzip_stream_is_truncated) {
    temp_dir dir;
    const idx_pair src;
    bytes gz = gzip_bytes(src.images_file, dir / "scratch.gz");
    gz.resize(gz.size() / 2);
    write_plain(dir / "img.gz", gz);
    write_plain(dir / "lab", src.labels_file);
    const auto m = message_of<maso::file_error>([&] { io::load_idx(dir / "img.gz", dir / "lab"); });
    MASO_CHECK_MESSAGE_HAS(m, "/img.gz: truncated: expected 140 bytes of images, got ");
    MASO_CHECK_MESSAGE_HAS(m, "gzip stream ends early");
}

BOOST_AUTO_TEST_CASE(a_corrupt_gzip_payload_fails_its_check) {
    temp_dir dir;
    const idx_pair src;
    bytes gz = gzip_bytes(src.images_file, dir / "scratch.gz");
    gz[gz.size() - 6] ^= 0xff; // inside the CRC-32 of the trailer
    write_plain(dir / "img.gz", gz);
    write_plain(dir / "lab", src.labels_file);
    const auto m = message_of<maso::file_error>([&] { io::load_idx(dir / "img.gz", dir / "lab"); });
    MASO_CHECK_MESSAGE_HAS(m, "/img.gz: corrupt gzip data: incorrect data check");
}

BOOST_AUTO_TEST_CASE(zero_dimensions_are_refused) {
    const idx_pair src;
    MASO_CHECK_MESSAGE_HAS(refusal(idx_images(n, 0, w, {}), src.labels_file),
                           "/images: zero dimension: the header announces 7 images of 0x4 pixels");
    MASO_CHECK_MESSAGE_HAS(refusal(idx_images(0, h, w, {}), idx_labels({})),
                           "/images: zero dimension: the header announces 0 images of 5x4");
    bytes lab = src.labels_file;
    lab[7] = 0; // N = 0 labels
    MASO_CHECK_MESSAGE_HAS(refusal(src.images_file, lab),
                           "/labels: zero dimension: the header announces 0 labels");
}

BOOST_AUTO_TEST_CASE(absurd_dimensions_are_refused_before_allocating) {
    const idx_pair src;
    bytes lab = idx_labels(bytes(n, 0));
    // 4294967295 · 65535 · 65535 bytes: the product overflows 64 bits.
    lab[4] = lab[5] = lab[6] = lab[7] = 0xff;
    MASO_CHECK_MESSAGE_HAS(refusal(idx_images(0xffffffffu, 0xffff, 0xffff, src.pixels), lab),
                           "/images: malformed header: it announces 4294967295 images of "
                           "65535x65535 pixels, more than 4294967296 bytes");
    // 3·10⁹ bytes announced in a plain file of 156: refused from its size.
    bytes lab3 = idx_labels(bytes(n, 0));
    lab3[4] = 0x00, lab3[5] = 0x2d, lab3[6] = 0xc6, lab3[7] = 0xc0; // 3000000
    MASO_CHECK_MESSAGE_HAS(refusal(idx_images(3000000, 1000, 1, src.pixels), lab3),
                           "/images: truncated: expected 3000000000 bytes of images, got 140");
    // The same header gzip-compressed: bounded by what deflate can expand to.
    temp_dir dir;
    write_gzip(dir / "img.gz", idx_images(3000000, 1000, 1, src.pixels));
    write_plain(dir / "lab", lab3);
    const auto m = message_of<maso::file_error>([&] { io::load_idx(dir / "img.gz", dir / "lab"); });
    MASO_CHECK_MESSAGE_HAS(m, "/img.gz: malformed header: it announces 3000000000 bytes of "
                              "images, more than a gzip file of ");
}

BOOST_AUTO_TEST_CASE(bytes_after_the_data_are_refused) {
    const idx_pair src;
    bytes img = src.images_file;
    img.push_back(0);
    MASO_CHECK_MESSAGE_HAS(refusal(img, src.labels_file),
                           "/images: malformed: more bytes after the 7 images");
}

BOOST_AUTO_TEST_CASE(a_label_outside_the_classes_is_named_with_its_image) {
    const idx_pair src;
    bytes lab = src.labels_file;
    lab[8 + 4] = 10;
    MASO_CHECK_MESSAGE_HAS(refusal(src.images_file, lab),
                           "/labels: label 10 of image 4 is outside [0, 10)");
    MASO_CHECK_MESSAGE_HAS(refusal(src.images_file, src.labels_file, 2), "outside [0, 2)");
}

BOOST_AUTO_TEST_CASE(image_and_label_counts_must_agree) {
    const idx_pair src;
    const bytes fewer(src.labels.begin(), src.labels.end() - 1);
    const auto m = refusal(src.images_file, idx_labels(fewer));
    MASO_CHECK_MESSAGE_HAS(m, "/labels: 6 labels for the 7 images of ");
    MASO_CHECK_MESSAGE_HAS(m, "/images");
}

BOOST_AUTO_TEST_CASE(zero_classes_is_a_value_error) {
    BOOST_CHECK_THROW(io::load_idx("a", "b", 0), maso::value_error);
}

// ---- random corruption -----------------------------------------------------------------

// Each mutation of a valid pair must either load into a consistent data set or be
// refused with a maso::error; a crash, a hang, another exception or an absurd
// allocation fails the test (ASan+UBSan runs it too). Fixed seed: failures reproduce.
BOOST_AUTO_TEST_CASE(random_corruptions_load_consistently_or_throw_maso_errors) {
    temp_dir dir;
    const idx_pair src;
    const bytes gz_images = gzip_bytes(src.images_file, dir / "s1.gz");
    const bytes gz_labels = gzip_bytes(src.labels_file, dir / "s2.gz");
    std::mt19937 g(20240607u);
    auto below = [&](std::size_t k) { return std::size_t(g() % k); };
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const bool gz = trial % 2 == 1, corrupt_images = below(3) != 0;
        bytes img = gz ? gz_images : src.images_file;
        bytes lab = gz ? gz_labels : src.labels_file;
        bytes& victim = corrupt_images ? img : lab;
        switch (below(4)) {
        case 0: // truncate anywhere
            victim.resize(below(victim.size() + 1));
            break;
        case 1: // flip bytes of the first 24 (the IDX or gzip header and its surroundings)
            for (std::size_t k = 0, m = 1 + below(3); k < m; ++k)
                victim[below(std::min<std::size_t>(24, victim.size()))] ^=
                    std::uint8_t(1 + below(255));
            break;
        case 2: // flip bytes anywhere
            for (std::size_t k = 0, m = 1 + below(4); k < m; ++k)
                victim[below(victim.size())] ^= std::uint8_t(1 + below(255));
            break;
        default: // append garbage
            for (std::size_t k = 0, m = 1 + below(40); k < m; ++k)
                victim.push_back(std::uint8_t(below(256)));
        }
        write_plain(dir / "img", img);
        write_plain(dir / "lab", lab);
        try {
            const auto d = io::load_idx(dir / "img", dir / "lab");
            ++loaded;
            BOOST_REQUIRE_EQUAL(d.labels().size(), d.size());
            BOOST_REQUIRE_EQUAL(d.images().size(), d.size() * d.shape().size());
            BOOST_CHECK_EQUAL(d.shape().channels, 1u);
            for (float v : d.images())
                BOOST_REQUIRE(v >= 0.f && v <= 1.f);
            for (int l : d.labels())
                BOOST_REQUIRE(l >= 0 && l < 10);
        } catch (const maso::error& e) {
            ++refused;
            BOOST_REQUIRE_MESSAGE(std::string(e.what()).rfind("maso: ", 0) == 0, e.what());
        } catch (const std::exception& e) {
            BOOST_ERROR("trial " << trial << ": not a maso::error: " << e.what());
        }
    }
    // Payload flips in a plain file load (pixels are free); most else is refused.
    BOOST_TEST_MESSAGE("loaded " << loaded << ", refused " << refused);
    BOOST_CHECK_GT(loaded, 10);
    BOOST_CHECK_GT(refused, 150);
}

// ---- the real Fashion-MNIST ---------------------------------------------------------------

// Debian's dataset-fashion-mnist (scripts/test.sh installs it). The published facts
// (github.com/zalandoresearch/fashion-mnist): 60000 training and 10000 test images of
// 28×28 grey levels, 10 classes with exactly 6000 training and 1000 test images each.
// The first image of each set is an ankle boot (class 9).
BOOST_AUTO_TEST_CASE(the_real_fashion_mnist_matches_its_published_facts) {
    const char* env = std::getenv("MASO_FASHION_MNIST_DIR");
    const std::filesystem::path dir = env ? env : "/usr/share/datasets/fashion-mnist";
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(dir / "train-images-idx3-ubyte.gz") ||
                              std::filesystem::exists(dir / "train-images-idx3-ubyte"),
                          dir << " lacks Fashion-MNIST: apt-get install dataset-fashion-mnist");
    const auto [train, test] = io::load_mnist(dir);
    BOOST_CHECK_EQUAL(train.size(), 60000u);
    BOOST_CHECK_EQUAL(test.size(), 10000u);
    for (const auto* d : {&train, &test}) {
        BOOST_CHECK(d->shape() == (io::image_shape{1, 28, 28}));
        BOOST_CHECK_EQUAL(d->classes(), 10u);
        BOOST_CHECK_EQUAL(d->labels()[0], 9);
        const auto counts = d->class_counts();
        BOOST_REQUIRE_EQUAL(counts.size(), 10u);
        for (std::size_t c = 0; c < 10; ++c)
            BOOST_CHECK_EQUAL(counts[c], d == &train ? 6000u : 1000u);
        float lo = 1, hi = 0;
        for (float v : d->images())
            lo = std::min(lo, v), hi = std::max(hi, v);
        BOOST_CHECK_EQUAL(lo, 0.f); // black background
        BOOST_CHECK_EQUAL(hi, 1.f); // and some pixel at full intensity
    }
}
