// Tests of include/maso/core/shape.hpp and core/tensor.hpp: shapes and the
// channel-major layout with its conversions at the network's edges.
#include <maso/core/shape.hpp>
#include <maso/core/tensor.hpp>
#include <maso/core/type_list.hpp>

#include <boost/test/unit_test.hpp>

#include <numeric>
#include <vector>

using namespace maso;

BOOST_AUTO_TEST_CASE(shape_constants) {
    using S = shape<3, 4, 5>;
    static_assert(S::size == 60 && S::plane == 20 && !S::is_vector);
    static_assert(shape<7>::is_vector && shape<7>::size == 7);
    static_assert(is_shape_v<S> && !is_shape_v<invalid_shape>);
    static_assert(std::is_same_v<type_at_t<1, type_list<int, S, float>>, S>);
    BOOST_CHECK(true);
}

namespace {

/// Element (n, c, i) of the NCHW batch sits at ((c·N + n)·plane + i) after
/// to_channel_major, and from_channel_major brings the batch back.
template <class S>
void check_round_trip(std::size_t N) {
    std::vector<float> nchw(S::size * N);
    std::iota(nchw.begin(), nchw.end(), 0.f);
    std::vector<float> cm(nchw.size(), -1.f), back(nchw.size(), -1.f);
    activation<S, float> a{cm.data(), N};
    to_channel_major<S, float>(nchw, a);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < S::channels; ++c)
            for (std::size_t i = 0; i < S::plane; ++i)
                BOOST_TEST_CONTEXT("image " << n << ", channel " << c << ", entry " << i)
    BOOST_CHECK_EQUAL(cm[(c * N + n) * S::plane + i], nchw[(n * S::channels + c) * S::plane + i]);
    from_channel_major<S, float>(activation<S, const float>{cm.data(), N}, back);
    BOOST_CHECK(back == nchw);
}

} // namespace

BOOST_AUTO_TEST_CASE(channel_major_round_trip) {
    using S = shape<3, 2, 2>;
    check_round_trip<S>(2);
    std::vector<float> cm(S::size * 2);
    activation<S, float> a{cm.data(), 2};
    BOOST_CHECK_EQUAL(a.channel(1), cm.data() + 8);
    BOOST_CHECK_EQUAL(a.plane(2, 1), cm.data() + 20);
    // Planes of 16 values and more are copied whole, smaller ones in 16×16 blocks of
    // (image, channel): counts that leave partial blocks on both sides.
    check_round_trip<shape<5, 4, 4>>(3);
    check_round_trip<shape<37>>(21);
    check_round_trip<shape<10>>(256);
    check_round_trip<shape<19, 1, 3>>(17);
}

BOOST_AUTO_TEST_CASE(wrong_sizes_raise_size_error) {
    using S = shape<2, 2, 2>;
    std::vector<float> small(5), buf(16);
    BOOST_CHECK_THROW((to_channel_major<S, float>(small, activation<S, float>{buf.data(), 2})),
                      size_error);
}
