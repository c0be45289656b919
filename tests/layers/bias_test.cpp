// Tests of include/maso/layers/bias.hpp, built once per ISA: the bias passes of dense and
// conv2d (fuse::none) add b[c] to every value of channel c and reduce Σ dy per channel, for
// channel lengths around the batch width (1, W − 1, W, W + 1, 3W + 1), with a row stride
// longer than the channel, on 1, 2 and 3 threads with bitwise the same gradients.
#include <maso/layers/bias.hpp>

#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cstddef>
#include <type_traits>
#include <vector>

using maso_test::test_arch;

namespace {

static_assert(std::is_same_v<xsimd::default_arch, test_arch>, "the passes run the test's ISA");

template <class T>
void check_lengths() {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size, C = 5;
    maso_test::thread_count_guard guard;
    for (const std::size_t n : {std::size_t(1), W - 1, W, W + 1, 3 * W + 1}) {
        if (n == 0) continue;
        const std::size_t ld = n + 3; // the last 3 of each row are not the channel's
        std::vector<T> b(C), y0(C * ld), dy(C * ld);
        for (std::size_t c = 0; c < C; ++c)
            b[c] = T(c) - T(1.5);
        for (std::size_t i = 0; i < y0.size(); ++i) {
            y0[i] = T(i % 7) * T(0.25);
            dy[i] = T(i % 5) - T(2); // small integers: every sum exact in any order
        }
        std::vector<T> first_db;
        for (const std::size_t threads : {1, 2, 3}) {
            maso::set_num_threads(threads);
            std::vector<T> y = y0, db(C, T(1));
            maso::detail::add_bias(b.data(), y.data(), C, n, ld);
            maso::detail::add_bias_gradient(dy.data(), db.data(), C, n, ld);
            BOOST_TEST_CONTEXT("n = " << n << ", " << threads << " threads") {
                for (std::size_t c = 0; c < C; ++c) {
                    T sum = 1; // db is added to
                    for (std::size_t i = 0; i < ld; ++i) {
                        const std::size_t k = c * ld + i;
                        BOOST_CHECK_EQUAL(y[k], i < n ? y0[k] + b[c] : y0[k]);
                        if (i < n) sum += dy[k];
                    }
                    BOOST_CHECK_EQUAL(db[c], sum);
                }
                if (first_db.empty()) first_db = db;
                BOOST_CHECK(db == first_db);
            }
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(float_bias_passes) { check_lengths<float>(); }
BOOST_AUTO_TEST_CASE(double_bias_passes) { check_lengths<double>(); }
