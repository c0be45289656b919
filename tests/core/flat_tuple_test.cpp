// Tests of include/maso/core/flat_tuple.hpp: elements by index, apply, in-place construction.
#include <maso/core/flat_tuple.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

BOOST_AUTO_TEST_CASE(elements_by_index) {
    maso::flat_tuple<int, std::string, double> t{std::in_place, 3, std::string("two"), 0.5};
    static_assert(decltype(t)::size == 3);
    BOOST_CHECK_EQUAL(maso::get<0>(t), 3);
    BOOST_CHECK_EQUAL(maso::get<1>(t), "two");
    maso::get<2>(t) = 1.5;
    const auto& c = t;
    BOOST_CHECK_EQUAL(maso::get<2>(c), 1.5);
}

BOOST_AUTO_TEST_CASE(repeated_types_stay_apart) {
    // two elements of one type: the index, not the type, picks the base
    maso::flat_tuple<int, int, int> t{std::in_place, 1, 2, 3};
    BOOST_CHECK_EQUAL(maso::get<0>(t) + 10 * maso::get<1>(t) + 100 * maso::get<2>(t), 321);
}

BOOST_AUTO_TEST_CASE(apply_passes_the_elements_in_order) {
    const maso::flat_tuple<int, int, int> t{std::in_place, 4, 5, 6};
    BOOST_CHECK_EQUAL(maso::apply([](int a, int b, int c) { return a * 100 + b * 10 + c; }, t),
                      456);
    const maso::flat_tuple<> empty{};
    BOOST_CHECK_EQUAL(maso::apply([]() { return 7; }, empty), 7);
}
