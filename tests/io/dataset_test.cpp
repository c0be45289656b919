// Tests of include/maso/io/dataset.hpp: the invariants checked at construction,
// the views of images and labels, class counts, and that a move does not copy.
#include <maso/io/dataset.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

namespace io = maso::io;

namespace {

/// 3 images of 2×1×2 whose values are 100·n + i, so any mix-up shows.
io::dataset three() {
    std::vector<float> x;
    for (int n = 0; n < 3; ++n)
        for (int i = 0; i < 4; ++i)
            x.push_back(float(100 * n + i));
    return io::dataset(std::move(x), {2, 0, 2}, {2, 1, 2}, 4, "three");
}

template <class E, class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no exception)";
}

} // namespace

BOOST_AUTO_TEST_CASE(views_address_images_by_index) {
    auto d = three();
    BOOST_CHECK_EQUAL(d.size(), 3u);
    BOOST_CHECK(!d.empty());
    BOOST_CHECK(d.shape() == (io::image_shape{2, 1, 2}));
    BOOST_CHECK_EQUAL(d.classes(), 4u);
    BOOST_CHECK_EQUAL(d.name(), "three");
    BOOST_CHECK_EQUAL(d.images().size(), 12u);
    BOOST_REQUIRE_EQUAL(d.image(2).size(), 4u);
    BOOST_CHECK_EQUAL(d.image(2)[0], 200.f);
    BOOST_CHECK_EQUAL(d.image(2)[3], 203.f);
    BOOST_CHECK_EQUAL(d.labels()[1], 0);
    d.image(1)[2] = -1.f; // writable in place, as preprocessing needs
    BOOST_CHECK_EQUAL(d.images()[6], -1.f);
}

BOOST_AUTO_TEST_CASE(class_counts_count_each_class) {
    const auto counts = three().class_counts();
    BOOST_CHECK((counts == std::vector<std::size_t>{1, 0, 2, 0}));
}

BOOST_AUTO_TEST_CASE(a_move_keeps_the_buffers) {
    auto a = three();
    const float* pixels = a.images().data();
    const int* labels = a.labels().data();
    io::dataset b = std::move(a);
    BOOST_CHECK_EQUAL(b.images().data(), pixels);
    BOOST_CHECK_EQUAL(b.labels().data(), labels);
    BOOST_CHECK_EQUAL(b.size(), 3u);
    io::dataset c;
    BOOST_CHECK(c.empty());
    c = std::move(b);
    BOOST_CHECK_EQUAL(c.images().data(), pixels);
}

BOOST_AUTO_TEST_CASE(inconsistent_parts_are_refused) {
    BOOST_CHECK_EQUAL(message_of<maso::size_error>([] {
                          io::dataset(std::vector<float>(7), {0, 1}, {1, 2, 2}, 2, "x");
                      }),
                      "maso: the image buffer of a data set has 7 elements, expected 8");
    BOOST_CHECK_EQUAL(message_of<maso::value_error>([] {
                          io::dataset(std::vector<float>(8), {0, 2}, {1, 2, 2}, 2, "x");
                      }),
                      "maso: x: image 1 has label 2, outside [0, 2)");
    BOOST_CHECK_EQUAL(message_of<maso::value_error>([] {
                          io::dataset(std::vector<float>(8), {-1, 0}, {1, 2, 2}, 2);
                      }),
                      "maso: dataset: image 0 has label -1, outside [0, 2)");
    BOOST_CHECK_EQUAL(message_of<maso::value_error>([] {
                          io::dataset(std::vector<float>(8), {0, 0}, {1, 2, 2}, 0, "x");
                      }),
                      "maso: x: a data set needs at least one class");
    BOOST_CHECK_EQUAL(message_of<maso::value_error>([] {
                          io::dataset(std::vector<float>{}, {}, {1, 0, 2}, 3, "x");
                      }),
                      "maso: x: the image shape 1x0x2 has a zero extent");
}
