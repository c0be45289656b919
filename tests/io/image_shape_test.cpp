// Tests of include/maso/io/image_shape.hpp.
#include <maso/io/image_shape.hpp>

#include <boost/test/unit_test.hpp>

namespace io = maso::io;

BOOST_AUTO_TEST_CASE(size_plane_and_printing) {
    constexpr io::image_shape cifar{3, 32, 32};
    static_assert(cifar.size() == 3072 && cifar.plane() == 1024);
    BOOST_CHECK_EQUAL(to_string(cifar), "3x32x32");
    BOOST_CHECK_EQUAL(to_string(io::image_shape{1, 28, 27}), "1x28x27");
    BOOST_CHECK(cifar == (io::image_shape{3, 32, 32}));
    BOOST_CHECK(!(cifar == (io::image_shape{3, 32, 31})));
    BOOST_CHECK_EQUAL(io::image_shape{}.size(), 0u);
}
