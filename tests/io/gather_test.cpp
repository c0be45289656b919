// Tests of include/maso/io/gather.hpp: the right images and labels in the caller's
// buffers, refusals before anything is written, and no allocation.
#include <maso/io/gather.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/count_allocations.hpp>

#include <span>
#include <string>
#include <vector>

namespace io = maso::io;

namespace {

/// 5 images of 1×1×3 whose values are 10·n + i; label n mod 3.
io::dataset five() {
    std::vector<float> x;
    std::vector<int> l;
    for (int n = 0; n < 5; ++n) {
        for (int i = 0; i < 3; ++i)
            x.push_back(float(10 * n + i));
        l.push_back(n % 3);
    }
    return io::dataset(std::move(x), std::move(l), {1, 1, 3}, 3, "five");
}

} // namespace

BOOST_AUTO_TEST_CASE(the_indexed_images_and_labels_are_copied_in_order) {
    const auto d = five();
    const std::vector<std::size_t> idx{4, 0, 4, 2};
    std::vector<float> x(12, -1.f);
    std::vector<int> y(4, -1);
    io::gather(d, idx, x, y);
    const std::vector<float> expected{40, 41, 42, 0, 1, 2, 40, 41, 42, 20, 21, 22};
    BOOST_CHECK(x == expected);
    BOOST_CHECK((y == std::vector<int>{1, 0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(wrong_buffers_and_indices_are_refused_before_writing) {
    const auto d = five();
    std::vector<float> x(6, -1.f);
    std::vector<int> y(2, -1);
    const std::vector<std::size_t> idx{1, 2}, bad{1, 5};
    BOOST_CHECK_THROW(io::gather(d, idx, std::span(x).first(5), y), maso::size_error);
    BOOST_CHECK_THROW(io::gather(d, idx, x, std::span(y).first(1)), maso::size_error);
    try {
        io::gather(d, bad, x, y);
        BOOST_ERROR("no exception");
    } catch (const maso::value_error& e) {
        BOOST_CHECK_EQUAL(std::string(e.what()),
                          "maso: gather: index 5 is outside the 5 images of five");
    }
    for (float v : x)
        BOOST_CHECK_EQUAL(v, -1.f);
    for (int v : y)
        BOOST_CHECK_EQUAL(v, -1);
}

BOOST_AUTO_TEST_CASE(gather_allocates_nothing) {
    const auto d = five();
    const std::vector<std::size_t> idx{3, 1};
    std::vector<float> x(6);
    std::vector<int> y(2);
    const long before = maso_test::allocations();
    io::gather(d, idx, x, y);
    BOOST_CHECK_EQUAL(maso_test::allocations(), before);
    BOOST_CHECK_EQUAL(x[0], 30.f);
}
