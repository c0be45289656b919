// Tests of include/maso/core/error.hpp.
#include <maso/core/error.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

BOOST_AUTO_TEST_CASE(size_mismatch_names_what_and_both_sizes) {
    BOOST_CHECK_NO_THROW(maso::detail::check_same_size(4, 4, "dz"));
    try {
        maso::detail::check_same_size(4, 3, "the input gradient dz");
        BOOST_ERROR("no exception");
    } catch (const maso::size_error& e) {
        const std::string m = e.what();
        BOOST_CHECK(m.find("the input gradient dz") != std::string::npos);
        BOOST_CHECK(m.find("has 3 elements, expected 4") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(every_maso_exception_is_a_maso_error) {
    BOOST_CHECK_THROW(throw maso::value_error("v"), maso::error);
    BOOST_CHECK_THROW(throw maso::size_error("s"), maso::error);
    BOOST_CHECK_THROW(throw maso::file_error("f", "missing"), maso::error);
    BOOST_CHECK_THROW(throw maso::error("e"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(a_file_error_names_the_path_then_the_problem) {
    try {
        throw maso::file_error("/x/train-images-idx3-ubyte.gz",
                               "truncated: expected 47040000 bytes of images, got 1000");
    } catch (const maso::error& e) {
        BOOST_CHECK_EQUAL(std::string(e.what()), "maso: /x/train-images-idx3-ubyte.gz: truncated: "
                                                 "expected 47040000 bytes of images, got 1000");
        const auto* f = dynamic_cast<const maso::file_error*>(&e);
        BOOST_REQUIRE(f != nullptr);
        BOOST_CHECK_EQUAL(f->path(), "/x/train-images-idx3-ubyte.gz");
    }
}
