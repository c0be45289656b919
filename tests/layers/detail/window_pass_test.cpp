// Tests of include/maso/layers/detail/window_pass.hpp, built once per ISA: the vectorised
// pass of maxpool, avgpool and softpool over a channel's planes equals the scalar reference
// (pool_window.hpp's forward_windows and backward_windows, one window at a time through
// window_pool) for K = 1, 2, 3, output rows of 1, W − 1, W, W + 1 and 3W + 1 windows (rows
// that hold whole batches and rows that do not), 1 to 3 planes of 1 to 3 output rows (every
// tail of the last partial batch): max pooling bitwise, average pooling bitwise, softmax
// pooling to the ulps of fast_exp; every dx written, nothing written past the output, and
// ∂L/∂η the same with or without dx.
#include <maso/layers/avgpool.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/window_pass.hpp>
#include <maso/layers/maxpool.hpp>
#include <maso/layers/softpool.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

using namespace maso;
using maso_test::test_arch;

namespace {

static_assert(std::is_same_v<xsimd::default_arch, test_arch>, "the layers run the test's ISA");

enum class pool { max, avg, soft };

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-13;

/// One pooling layer's pass on `planes` planes of In against the scalar reference.
template <class T, std::size_t K, class In>
void check_pass(pool kind, std::size_t planes) {
    using Out = detail::pooled_shape_t<In, K>;
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size, R = K * K;
    const std::size_t n_in = planes * In::plane, n_out = planes * Out::plane;
    // Values on a grid of ½ from −2 to 2: plenty of ties for the hard path's rule.
    std::vector<T> x(n_in), dy(n_out);
    for (auto& v : x)
        v = T(std::round(maso_test::uniform(-4, 4)) / 2);
    for (auto& v : dy)
        v = T(maso_test::uniform(-1, 1));
    const T nan = std::numeric_limits<T>::quiet_NaN(), guard = T(-77);

    // the layer's pass
    using io_t = layer_io<In, Out, T>;
    io_t io{};
    const auto soft_beta = vq::basic_beta<T>::from_beta(T(0.7f)); // the node's float β
    std::vector<T> out(n_out + W, guard), din(n_in, nan), out_ref(n_out), din_ref(n_in);
    T deta = 0, deta_without_dx = 0;
    auto run = [&](const auto& layer) {
        layer.forward_planes(io, 0, x.data(), out.data(), planes);
        deta = layer.backward_planes(io, 0, x.data(), dy.data(), din.data(), planes);
        deta_without_dx = layer.backward_planes(io, 0, x.data(), dy.data(), nullptr, planes);
    };
    if (kind == pool::max) run(typename maxpool_node<K>::template layer<In, T>(maxpool<K>()));
    if (kind == pool::avg) run(typename avgpool_node<K>::template layer<In, T>(avgpool<K>()));
    if (kind == pool::soft)
        run(typename softpool_node<K>::template layer<In, T>(softpool<K>(0.7f)));

    // the reference, plane by plane and window by window
    const detail::window_pool<T> ref_pool(kind == pool::max ? vq::basic_beta<T>::from_beta(T(1))
                                                            : soft_beta);
    T deta_ref = 0, deta_scale = 0;
    for (std::size_t p = 0; p < planes; ++p) {
        const T* xp = x.data() + p * In::plane;
        T* op = out_ref.data() + p * Out::plane;
        T* dp = din_ref.data() + p * In::plane;
        const T* gp = dy.data() + p * Out::plane;
        if (kind == pool::avg) {
            detail::forward_windows<In, K>(xp, op, [](const auto& v) {
                T sum = 0;
                for (const T e : v)
                    sum += e;
                return sum / T(R);
            });
            detail::backward_windows<In, K>(xp, gp, dp, [](const auto&, T g, std::span<T> dv) {
                for (T& d : dv)
                    d = g / T(R);
            });
        } else {
            detail::forward_windows<In, K>(xp, op,
                                           [&](const auto& v) { return ref_pool.forward(v); });
            detail::backward_windows<In, K>(xp, gp, dp, [&](const auto& v, T g, std::span<T> dv) {
                const T d = ref_pool.backward(v, g, dv);
                deta_ref += d;
                deta_scale += std::fabs(d);
            });
        }
    }

    const bool exact = kind != pool::soft;
    const double tol = tolerance<T>;
    for (std::size_t i = 0; i < n_out; ++i)
        BOOST_TEST_CONTEXT("y " << i) {
            if (exact)
                BOOST_CHECK_EQUAL(out[i], out_ref[i]);
            else
                MASO_CHECK_CLOSE(out[i], out_ref[i], tol, 2);
        }
    for (std::size_t i = n_out; i < n_out + W; ++i)
        BOOST_CHECK_EQUAL(out[i], guard); // nothing past the last window
    for (std::size_t i = 0; i < n_in; ++i)
        BOOST_TEST_CONTEXT("dx " << i) {
            if (exact)
                BOOST_CHECK_EQUAL(din[i], din_ref[i]); // NaN (never written) fails too
            else
                MASO_CHECK_CLOSE(din[i], din_ref[i], tol, 10); // |dy p (1 + η (v − y))| ≤ 10
        }
    if (kind == pool::soft) {
        if (R > 1) BOOST_CHECK_NE(deta, T(0)); // a one-member window has no variance
        // a sum over up to 441 windows, in another order than the reference's
        MASO_CHECK_CLOSE(deta, deta_ref, 5 * tol, deta_scale);
    } else {
        BOOST_CHECK_EQUAL(deta, T(0));
    }
    BOOST_CHECK_EQUAL(deta_without_dx, deta); // the same sums, in the same order
}

/// Every kind and plane count for one shape: Ho output rows of Wo windows.
template <class T, std::size_t K, std::size_t Ho, std::size_t Wo>
void check_shape() {
    using In = shape<1, K * Ho, K * Wo>;
    for (const pool kind : {pool::max, pool::avg, pool::soft})
        for (std::size_t planes = 1; planes <= 3; ++planes)
            BOOST_TEST_CONTEXT("K = " << K << ", " << Ho << " × " << Wo << " windows, " << planes
                                      << " planes, pool " << int(kind))
    check_pass<T, K, In>(kind, planes);
}

template <class T, std::size_t K, std::size_t Wo>
void check_rows() {
    check_shape<T, K, 1, Wo>();
    check_shape<T, K, 2, Wo>();
    check_shape<T, K, 3, Wo>();
}

template <class T, std::size_t K>
void check_widths() {
    constexpr std::size_t W = xsimd::batch<T, test_arch>::size;
    check_rows<T, K, 1>();
    if constexpr (W > 2) check_rows<T, K, W - 1>();
    check_rows<T, K, W>();
    check_rows<T, K, W + 1>();
    check_rows<T, K, 3 * W + 1>();
}

} // namespace

BOOST_AUTO_TEST_CASE(float_pass_equals_the_scalar_windows) {
    check_widths<float, 1>();
    check_widths<float, 2>();
    check_widths<float, 3>();
}

BOOST_AUTO_TEST_CASE(double_pass_equals_the_scalar_windows) {
    check_widths<double, 1>();
    check_widths<double, 2>();
    check_widths<double, 3>();
}
