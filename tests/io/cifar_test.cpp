// Tests of include/maso/io/cifar.hpp: CIFAR-10 and CIFAR-100 binary batches written
// here record by record (the real sets are not available to the tests), read back
// exactly, plain and gzip; refused files named with their problem; 300 random
// corruptions that must each load consistently or throw maso::error.
#include <maso/io/cifar.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/io_files.hpp>

#include <random>
#include <string>
#include <vector>

using namespace maso_test;
namespace io = maso::io;

namespace {

/// k records of CIFAR-10 or CIFAR-100 with random pixels and labels.
struct records {
    std::size_t k;
    bytes pixels, coarse, fine;
    records(std::size_t count, unsigned seed)
        : k(count), pixels(random_bytes(count * 3072, 256, seed)),
          coarse(random_bytes(count, 20, seed + 1)), fine(random_bytes(count, 100, seed + 2)) {}
    /// CIFAR-10 labels: the fine ones mod 10.
    bytes labels10() const {
        bytes l = fine;
        for (auto& x : l)
            x %= 10;
        return l;
    }
    bytes cifar10() const { return cifar10_records(labels10(), pixels); }
    bytes cifar100() const { return cifar100_records(coarse, fine, pixels); }
};

/// The images of `d` from image `first` on are r's: record i's byte j (red plane,
/// green, blue; rows of 32) is value j of image first + i, as p/255.
void check_images(const io::dataset& d, std::size_t first, const records& r, const bytes& labels) {
    for (std::size_t i = 0; i < r.k; ++i) {
        BOOST_REQUIRE_EQUAL(d.labels()[first + i], int(labels[i]));
        const auto img = d.image(first + i);
        for (std::size_t j = 0; j < 3072; ++j)
            BOOST_REQUIRE_EQUAL(img[j], float(r.pixels[i * 3072 + j]) / 255.f);
    }
}

std::string refusal(const bytes& file, io::cifar_format f = io::cifar_format::cifar10) {
    temp_dir dir;
    write_plain(dir / "batch.bin", file);
    const std::filesystem::path files[] = {dir / "batch.bin"};
    return message_of<maso::file_error>([&] { io::load_cifar(files, f); });
}

} // namespace

BOOST_AUTO_TEST_CASE(cifar10_reads_five_training_batches_and_the_test_batch) {
    temp_dir dir;
    std::vector<records> train;
    for (unsigned b = 1; b <= 5; ++b) {
        train.emplace_back(b, 10 * b); // batches of 1, 2, …, 5 records
        // Batch 3 gzip-compressed: the reader takes either form.
        const auto name = dir / ("data_batch_" + std::to_string(b) + ".bin");
        if (b == 3)
            write_gzip(name, train.back().cifar10());
        else
            write_plain(name, train.back().cifar10());
    }
    const records test(4, 99);
    write_plain(dir / "test_batch.bin", test.cifar10());

    const auto [tr, te] = io::load_cifar10(dir.path());
    BOOST_REQUIRE_EQUAL(tr.size(), 15u);
    BOOST_REQUIRE_EQUAL(te.size(), 4u);
    for (const auto* d : {&tr, &te}) {
        BOOST_CHECK(d->shape() == (io::image_shape{3, 32, 32}));
        BOOST_CHECK_EQUAL(d->classes(), 10u);
    }
    std::size_t first = 0;
    for (const auto& r : train) {
        check_images(tr, first, r, r.labels10());
        first += r.k;
    }
    check_images(te, 0, test, test.labels10());
    BOOST_CHECK(tr.name().find("data_batch_1.bin") != std::string::npos);
    BOOST_CHECK(tr.name().find("data_batch_5.bin") != std::string::npos);
    BOOST_CHECK(te.name().find("test_batch.bin") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_pixel_lands_at_its_channel_row_and_column) {
    // One record by hand: byte 1024·c + 32·y + x is channel c, row y, column x.
    temp_dir dir;
    bytes rec(1 + 3072, 0);
    rec[0] = 7;
    rec[1 + 1024 * 2 + 32 * 5 + 9] = 255; // blue, row 5, column 9
    rec[1 + 31] = 51;                     // red, row 0, column 31
    write_plain(dir / "b.bin", rec);
    const std::filesystem::path files[] = {dir / "b.bin"};
    const auto d = io::load_cifar(files, io::cifar_format::cifar10);
    BOOST_CHECK_EQUAL(d.labels()[0], 7);
    const auto img = d.image(0);
    BOOST_CHECK_EQUAL(img[(2 * 32 + 5) * 32 + 9], 1.f);
    BOOST_CHECK_EQUAL(img[31], 0.2f); // 51/255 = 0.2
    float sum = 0;
    for (float v : img)
        sum += v;
    BOOST_CHECK_EQUAL(sum, 1.2f);
}

BOOST_AUTO_TEST_CASE(cifar100_keeps_the_fine_label) {
    temp_dir dir;
    const records train(6, 5), test(3, 7);
    write_plain(dir / "train.bin", train.cifar100());
    write_gzip(dir / "test.bin", test.cifar100());
    auto [tr, te] = io::load_cifar100(dir.path());
    BOOST_CHECK_EQUAL(tr.classes(), 100u);
    BOOST_CHECK_EQUAL(te.classes(), 100u);
    BOOST_REQUIRE_EQUAL(tr.size(), 6u);
    BOOST_REQUIRE_EQUAL(te.size(), 3u);
    check_images(tr, 0, train, train.fine);
    check_images(te, 0, test, test.fine);
}

// ---- refused files -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_files_are_named) {
    temp_dir dir;
    const records r(1, 3);
    for (int b = 1; b <= 4; ++b) // data_batch_5.bin missing
        write_plain(dir / ("data_batch_" + std::to_string(b) + ".bin"), r.cifar10());
    write_plain(dir / "test_batch.bin", r.cifar10());
    auto m = message_of<maso::file_error>([&] { io::load_cifar10(dir.path()); });
    MASO_CHECK_MESSAGE_HAS(m, "maso: " + (dir / "data_batch_5.bin").string() + ": no such file");
    m = message_of<maso::file_error>([&] { io::load_cifar100(dir.path()); });
    MASO_CHECK_MESSAGE_HAS(m, (dir / "train.bin").string() + ": no such file");
}

BOOST_AUTO_TEST_CASE(the_python_version_gets_a_hint) {
    temp_dir dir;
    for (const char* name : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                             "data_batch_5", "test_batch"})
        write_plain(dir / name, {0x80, 0x02}); // pickles start so
    const auto m = message_of<maso::file_error>([&] { io::load_cifar10(dir.path()); });
    MASO_CHECK_MESSAGE_HAS(m, "data_batch_1.bin: no such file (data_batch_1 is the python "
                              "version of CIFAR; maso reads the binary version)");
}

BOOST_AUTO_TEST_CASE(an_empty_file_has_no_records) {
    MASO_CHECK_MESSAGE_HAS(refusal({}), "/batch.bin: empty: no records");
}

BOOST_AUTO_TEST_CASE(a_partial_record_is_truncated) {
    const records r(3, 1);
    bytes f = r.cifar10();
    f.resize(f.size() - 100);
    MASO_CHECK_MESSAGE_HAS(refusal(f), "/batch.bin: truncated: 9119 bytes is not a whole number "
                                       "of 3073-byte records (2 records and 2973 bytes)");
    // A CIFAR-100 file read as CIFAR-10: 3 records of 3074 bytes are not 3073-byte ones.
    MASO_CHECK_MESSAGE_HAS(refusal(r.cifar100()),
                           "truncated: 9222 bytes is not a whole number of 3073-byte records");
    bytes g = r.cifar100();
    g.push_back(0);
    MASO_CHECK_MESSAGE_HAS(refusal(g, io::cifar_format::cifar100),
                           "truncated: 9223 bytes is not a whole number of 3074-byte records");
}

BOOST_AUTO_TEST_CASE(labels_out_of_range_are_named_with_their_record) {
    const records r(3, 2);
    bytes f = r.cifar10();
    f[2 * 3073] = 10;
    MASO_CHECK_MESSAGE_HAS(refusal(f), "/batch.bin: record 2 has label 10, outside [0, 10)");
    bytes g = r.cifar100();
    g[1 * 3074 + 1] = 100;
    MASO_CHECK_MESSAGE_HAS(refusal(g, io::cifar_format::cifar100),
                           "/batch.bin: record 1 has fine label 100, outside [0, 100)");
    g = r.cifar100();
    g[0] = 20;
    MASO_CHECK_MESSAGE_HAS(refusal(g, io::cifar_format::cifar100),
                           "/batch.bin: record 0 has coarse label 20, outside [0, 20)");
}

BOOST_AUTO_TEST_CASE(a_corrupt_gzip_file_is_named) {
    temp_dir dir;
    const records r(2, 4);
    bytes gz = gzip_bytes(r.cifar10(), dir / "scratch.gz");
    gz[gz.size() - 3] ^= 0x01; // the trailer's length field
    write_plain(dir / "b.bin", gz);
    const std::filesystem::path files[] = {dir / "b.bin"};
    const auto m =
        message_of<maso::file_error>([&] { io::load_cifar(files, io::cifar_format::cifar10); });
    MASO_CHECK_MESSAGE_HAS(m, "/b.bin: corrupt gzip data: incorrect length check");
}

BOOST_AUTO_TEST_CASE(no_files_is_a_value_error) {
    BOOST_CHECK_THROW(io::load_cifar({}, io::cifar_format::cifar10), maso::value_error);
}

// ---- random corruption -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(random_corruptions_load_consistently_or_throw_maso_errors) {
    temp_dir dir;
    const records r(3, 8);
    const bytes plain10 = r.cifar10(), plain100 = r.cifar100();
    const bytes gz10 = gzip_bytes(plain10, dir / "s1.gz"),
                gz100 = gzip_bytes(plain100, dir / "s2.gz");
    std::mt19937 g(20240608u);
    auto below = [&](std::size_t k) { return std::size_t(g() % k); };
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const bool hundred = trial % 2 == 0, gz = trial % 4 >= 2;
        bytes f = hundred ? (gz ? gz100 : plain100) : (gz ? gz10 : plain10);
        switch (below(4)) {
        case 0:
            f.resize(below(f.size() + 1));
            break;
        case 1: // the label bytes of a record (plain) or the gzip header
            for (std::size_t k = 0, m = 1 + below(3); k < m; ++k) {
                const std::size_t at =
                    gz ? below(20) : below(3) * (hundred ? 3074 : 3073) + below(2);
                f[at] ^= std::uint8_t(1 + below(255));
            }
            break;
        case 2:
            for (std::size_t k = 0, m = 1 + below(4); k < m; ++k)
                f[below(f.size())] ^= std::uint8_t(1 + below(255));
            break;
        default:
            for (std::size_t k = 0, m = 1 + below(6000); k < m; ++k)
                f.push_back(std::uint8_t(below(256)));
        }
        write_plain(dir / "b.bin", f);
        const std::filesystem::path files[] = {dir / "b.bin"};
        try {
            const auto d = io::load_cifar(files, hundred ? io::cifar_format::cifar100
                                                         : io::cifar_format::cifar10);
            ++loaded;
            BOOST_REQUIRE_GT(d.size(), 0u);
            BOOST_REQUIRE_EQUAL(d.images().size(), d.size() * 3072);
            for (float v : d.images())
                BOOST_REQUIRE(v >= 0.f && v <= 1.f);
            for (int l : d.labels())
                BOOST_REQUIRE(l >= 0 && std::size_t(l) < d.classes());
        } catch (const maso::error& e) {
            ++refused;
            BOOST_REQUIRE_MESSAGE(std::string(e.what()).rfind("maso: ", 0) == 0, e.what());
        } catch (const std::exception& e) {
            BOOST_ERROR("trial " << trial << ": not a maso::error: " << e.what());
        }
    }
    BOOST_TEST_MESSAGE("loaded " << loaded << ", refused " << refused);
    BOOST_CHECK_GT(loaded, 10);
    BOOST_CHECK_GT(refused, 100);
}
