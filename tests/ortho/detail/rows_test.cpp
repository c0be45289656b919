// Tests of include/maso/ortho/detail/rows.hpp, built once per ISA: dot, axpy and scale against
// plain loops at every length around the batch widths; the partitions of parallel_rows and
// parallel_columns (every index once, column blocks aligned to column_block); the messages.
#include <maso/ortho/detail/rows.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

using maso_test::test_arch;
namespace detail = maso::ortho::detail;

namespace {
/// a·b + c as the ISA's batches compute it: one rounding with FMA (the AVX2 tests run on
/// fma3<avx2>, AVX-512 has it), two on SSE2, which has no FMA.
constexpr bool fused = !std::is_same_v<test_arch, xsimd::sse2>;
static_assert(detail::fused_multiply_add<test_arch> == fused);

template <class U>
U madd(U a, U b, U c) {
    if constexpr (fused)
        return std::fma(a, b, c);
    else
        return a * b + c;
}

template <class U>
void check_vector_ops() {
    constexpr std::size_t W = xsimd::batch<U, test_arch>::size;
    for (std::size_t n = 0; n <= 5 * W + 3; ++n)
        BOOST_TEST_CONTEXT("n = " << n) {
            const auto a = maso_test::uniform_vector<U>(n + 1, -1, 1);
            const auto b = maso_test::uniform_vector<U>(n + 1, -1, 1);
            // From an odd offset too: the batches are loaded unaligned.
            for (std::size_t off : {0u, 1u}) {
                if (off > 0 && n == 0) continue;
                const std::size_t m = n - off * (n > 0 ? 1 : 0);
                double want = 0, scale = 0;
                for (std::size_t i = 0; i < m; ++i) {
                    want += double(a[off + i]) * double(b[off + i]);
                    scale += std::fabs(double(a[off + i]) * double(b[off + i]));
                }
                MASO_CHECK_CLOSE(detail::dot<test_arch>(a.data() + off, b.data() + off, m), want,
                                 (m + 4) * std::numeric_limits<U>::epsilon(), scale);
                std::vector<U> y(b.begin(), b.end());
                detail::axpy<test_arch>(U(0.75), a.data() + off, y.data() + off, m);
                for (std::size_t i = 0; i < n + 1; ++i) {
                    const bool in = i >= off && i < off + m;
                    BOOST_CHECK_EQUAL(y[i], in ? madd(U(0.75), a[i], b[i]) : b[i]);
                }
                detail::scale<test_arch>(U(-2.5), y.data() + off, m);
                for (std::size_t i = off; i < off + m; ++i)
                    BOOST_CHECK_EQUAL(y[i], U(-2.5) * madd(U(0.75), a[i], b[i]));
            }
        }
}
} // namespace

BOOST_AUTO_TEST_CASE(vector_operations_against_plain_loops) {
    check_vector_ops<float>();
    check_vector_ops<double>();
}

BOOST_AUTO_TEST_CASE(partitions_cover_every_index_once) {
    maso_test::thread_count_guard guard;
    for (std::size_t threads : {1u, 2u}) {
        maso::set_num_threads(threads);
        for (std::size_t n : {1u, 63u, 64u, 65u, 200u, 1000u})
            for (std::size_t work : {std::size_t{1}, std::size_t{1} << 20}) {
                std::vector<std::atomic<int>> rows(n), cols(n);
                detail::parallel_rows(n, work, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i)
                        ++rows[i];
                });
                detail::parallel_columns(n, work, [&](std::size_t b, std::size_t e) {
                    BOOST_CHECK(b % detail::column_block == 0);
                    BOOST_CHECK(e == n || e % detail::column_block == 0);
                    for (std::size_t i = b; i < e; ++i)
                        ++cols[i];
                });
                for (std::size_t i = 0; i < n; ++i) {
                    BOOST_CHECK_EQUAL(rows[i].load(), 1);
                    BOOST_CHECK_EQUAL(cols[i].load(), 1);
                }
            }
    }
}

BOOST_AUTO_TEST_CASE(checks_and_their_messages) {
    const std::vector<float> w{1, 2, 3, -std::numeric_limits<float>::infinity(), 5, 6};
    try {
        detail::check_finite_weight<float>(w, 3, "layer");
        BOOST_ERROR("no throw");
    } catch (const maso::numeric_error& e) {
        BOOST_CHECK_EQUAL(
            std::string(e.what()),
            "maso: layer: the weight has a non-finite value (-inf) at row 1, column 0");
    }
    BOOST_CHECK_NO_THROW(detail::check_finite_weight<float>(std::span(w).first(3), 3, "layer"));
    BOOST_CHECK_THROW(detail::check_rows_fit(4, 3, "layer"), maso::value_error);
    BOOST_CHECK_NO_THROW(detail::check_rows_fit(3, 3, "layer"));
    BOOST_CHECK_THROW(detail::check_extents(3, 0, "layer"), maso::value_error);
    BOOST_CHECK_THROW(detail::check_size(6, 5, "layer", "the weight"), maso::size_error);
    BOOST_CHECK_EQUAL(detail::format_value(std::numeric_limits<double>::quiet_NaN()), "nan");
    BOOST_CHECK_EQUAL(detail::format_value(0.5), "0.500000");
}
