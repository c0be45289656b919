// Tests of include/maso/layers/detail/pool_window.hpp: pooling shapes, K×K windows of a plane
// and one window at a layer's β.
#include <maso/layers/detail/pool_window.hpp>

#include <maso_test/check.hpp>

#include <array>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

using namespace maso;
using detail::window_pool;

BOOST_AUTO_TEST_CASE(shapes_and_checks) {
    static_assert(std::is_same_v<detail::pooled_shape_t<shape<3, 4, 6>, 2>, shape<3, 2, 3>>);
    static_assert(std::is_same_v<detail::pooled_shape_t<shape<3, 4, 6>, 0>, invalid_shape>);
    static_assert(std::is_same_v<detail::grouped_shape_t<shape<6, 4, 4>, 3>, shape<2, 4, 4>>);
    static_assert(detail::check_pool<shape<3, 4, 6>, 2>() == diag::ok);
    static_assert(detail::check_pool<shape<3, 4, 5>, 2>() == diag::pool_not_dividing);
    static_assert(detail::check_pool<shape<3, 4, 4>, 0>() == diag::zero_extent);
}

BOOST_AUTO_TEST_CASE(windows_tile_the_plane_in_row_major_order) {
    using S = shape<1, 4, 6>;
    std::vector<double> plane(S::plane);
    for (std::size_t i = 0; i < plane.size(); ++i)
        plane[i] = double(i);
    // out = the window's first value (its top-left corner) and 10 × its last
    std::vector<double> first(6), last(6);
    detail::forward_windows<S, 2>(plane.data(), first.data(), [](const auto& v) { return v[0]; });
    detail::forward_windows<S, 2>(plane.data(), last.data(),
                                  [](const auto& v) { return 10 * v[3]; });
    BOOST_CHECK(first == (std::vector<double>{0, 2, 4, 12, 14, 16}));
    BOOST_CHECK(last == (std::vector<double>{70, 90, 110, 190, 210, 230}));
    // backward: each window's dv lands in its own place, every din value written once
    const std::vector<double> dout{1, 2, 3, 4, 5, 6};
    std::vector<double> din(S::plane, -1.0);
    detail::backward_windows<S, 2>(plane.data(), dout.data(), din.data(),
                                   [](const auto& v, double dy, std::span<double> dv) {
                                       BOOST_CHECK(dv.size() == 4 && dv[0] == 0 && dv[3] == 0);
                                       dv[1] = dy;
                                       dv[2] = v[2];
                                   });
    const std::vector<double> expected{0, 1, 0, 2, 0, 3, 6,  0, 8,  0, 10, 0,
                                       0, 4, 0, 5, 0, 6, 18, 0, 20, 0, 22, 0};
    BOOST_CHECK(din == expected);
    // din null: f still runs (for parameter gradients), with an empty dv
    int calls = 0;
    detail::backward_windows<S, 2>(plane.data(), dout.data(), static_cast<double*>(nullptr),
                                   [&](const auto&, double, std::span<double> dv) {
                                       BOOST_CHECK(dv.empty());
                                       ++calls;
                                   });
    BOOST_CHECK_EQUAL(calls, 6);
}

BOOST_AUTO_TEST_CASE(hard_window_takes_the_first_maximum) {
    const window_pool<double> hard(vq::basic_beta<double>::from_beta(1.0));
    BOOST_CHECK(hard.hard);
    const std::array<double, 4> v{1, 3, 3, -2};
    BOOST_CHECK_EQUAL(hard.forward(v), 3.0);
    std::array<double, 4> dv{9, 9, 9, 9};
    BOOST_CHECK_EQUAL(hard.backward(v, 2.0, dv), 0.0); // no β gradient on the hard path
    BOOST_CHECK(dv == (std::array<double, 4>{0, 2, 0, 0}));
    BOOST_CHECK_EQUAL(hard.backward(v, 2.0, {}), 0.0);
}

BOOST_AUTO_TEST_CASE(beta_window_is_the_span_derivation) {
    const std::array<double, 4> v{1, 3, 3, -2};
    // η = ∞ from a finite θ is the β → 1 limit, not the hard path: ties average
    const window_pool<double> limit(vq::basic_beta<double>{1000});
    BOOST_CHECK(!limit.hard);
    BOOST_CHECK_EQUAL(limit.eta, std::numeric_limits<double>::infinity());
    std::array<double, 4> dv{};
    BOOST_CHECK_EQUAL(limit.forward(v), 3.0);
    BOOST_CHECK_EQUAL(limit.backward(v, 1.0, dv), 0.0);
    BOOST_CHECK(dv == (std::array<double, 4>{0, 0.5, 0.5, 0}));
    // finite η: vq::beta_forward and vq::beta_backward on the window's values
    const window_pool<double> soft(vq::basic_beta<double>::from_eta(1.5));
    BOOST_CHECK_EQUAL(soft.forward(v), vq::beta_forward<double>(v, soft.eta));
    std::array<double, 4> expected{};
    const double deta = vq::beta_backward<double>(v, soft.eta, 0.5, expected);
    BOOST_CHECK_EQUAL(soft.backward(v, 0.5, dv), deta);
    BOOST_CHECK(dv == expected);
    // β = 0: the average
    const window_pool<double> average(vq::basic_beta<double>::from_beta(0.0));
    BOOST_CHECK_EQUAL(average.forward(v), 1.25);
}
