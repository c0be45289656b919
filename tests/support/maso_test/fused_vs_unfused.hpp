// maso_test/fused_vs_unfused.hpp — for the tests of plan/lower.hpp, built once per ISA
// (tests/plan/lower*_test.cpp): a network's fused program against its unfused one.
#pragma once

#include <maso/maso.hpp>

#include <maso_test/check.hpp>
#include <maso_test/expect_gradients.hpp>
#include <maso_test/isa.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace maso_test {

// The library picks its kernels by xsimd::default_arch; the executable's flags must
// make that the ISA it is named after, or the tile cases test the wrong path.
static_assert(std::is_same_v<xsimd::default_arch, test_arch>);

/// 2×2 pooling runs in the tiles when a tile's NR columns hold whole groups of 4
/// members: on every ISA (plan/tiles.hpp; NR = 64, 16, 8 floats on AVX-512, AVX2, SSE2).
template <class T>
constexpr bool pools_in_tiles = maso::kernels::gemm_blocking<test_arch, T>::NR % 4 == 0;
static_assert(pools_in_tiles<float> && pools_in_tiles<double>);

/// expect_gradients checks the input gradient in double only; the float models run
/// with it enabled here, fused against unfused: relative 1e-5, with a floor of 1e-6
/// times the largest entry, for entries that cancel to float rounding of the sums
/// behind them (dx sums over channels and taps, in different orders in the two plans).
template <class Net>
void expect_float_input_gradient(const Net& n, std::size_t batch) {
    maso::model<Net, maso::fuse::all_t, float> a(n, batch, {.seed = 5});
    maso::model<Net, maso::fuse::none_t, float> b(n, batch, {.seed = 5});
    a.enable_input_gradient();
    b.enable_input_gradient();
    using In = typename decltype(a)::input_shape;
    using Out = typename decltype(a)::output_shape;
    const auto x = uniform_vector<float>(In::size * batch, -1.5, 1.5);
    if constexpr (decltype(a)::has_loss) {
        std::vector<int> labels;
        for (std::size_t i = 0; i < batch; ++i)
            labels.push_back(int((3 * i + 1) % Out::channels));
        a.forward(x, labels);
        b.forward(x, labels);
        a.backward();
        b.backward();
    } else {
        const auto w = uniform_vector<float>(Out::size * batch, -1, 1);
        a.forward(x);
        b.forward(x);
        a.backward(w);
        b.backward(w);
    }
    const auto ga = a.input_gradient(), gb = b.input_gradient();
    double gmax = 0;
    for (std::size_t i = 0; i < gb.size(); ++i)
        gmax = std::max(gmax, double(std::fabs(gb.data[i])));
    BOOST_CHECK_GT(gmax, 0.0);
    for (std::size_t i = 0; i < ga.size(); ++i)
        BOOST_TEST_CONTEXT("float input " << i << " fused vs unfused")
    MASO_CHECK_CLOSE(ga.data[i], gb.data[i], 1e-5, 1e-1 * gmax);
}

/// The network's gradients by finite differences in double and fused == unfused
/// (expect_gradients), and its float input gradient fused against unfused, at
/// batches 1, 3 and 4.
template <class Net>
void check_network(const Net& n) {
    // Windows per channel: batch × pooled plane (see the test cases for which counts
    // fill whole tiles of 16 windows in float, 8 in double).
    for (std::size_t b : {1, 3, 4})
        BOOST_TEST_CONTEXT("batch " << b) {
            expect_gradients(n, {.batch = b});
            expect_float_input_gradient(n, b);
        }
}

} // namespace maso_test
