// Tests of include/maso/layers/detail/window_lanes.hpp, built once per ISA: every lane of a
// batch of windows equals pool_window.hpp's window_pool on that window (forward, ∂L/∂v,
// ∂L/∂η, the same tie choice on the hard path), lanes with dy = 0 add exactly 0, the scalar
// path agrees with finite differences, and the pooling layers hand out their channel's math.
#include <maso/layers/avgpool.hpp>
#include <maso/layers/detail/pool_window.hpp>
#include <maso/layers/detail/window_lanes.hpp>
#include <maso/layers/maxpool.hpp>
#include <maso/layers/softpool.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/vq/derive.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

using namespace maso;
using detail::window_lanes;
using detail::window_pool;
using maso_test::test_arch;

namespace {

/// The β's a pooling layer reaches: η = 0 (avgpool), small to huge η, η = ∞ from a finite θ
/// (soft: tied maxima average) and θ = +∞ (the hard path, maxpool).
template <class T>
std::vector<vq::basic_beta<T>> test_betas() {
    std::vector<vq::basic_beta<T>> b;
    for (const double eta : {0.0, 1e-30, 0.5, 1.0, 9.0, 1e6})
        b.push_back(vq::basic_beta<T>::from_eta(T(eta)));
    b.push_back(vq::basic_beta<T>::from_theta(T(1000))); // e^θ overflows: η = ∞, not hard
    b.push_back(vq::basic_beta<T>::from_beta(T(1)));     // θ = +∞
    return b;
}

/// One window of a given kind; padding lanes hold garbage and get dy = 0.
enum class kind { random, ties, all_equal, huge, huge_ties, close, padding, zero_dy, count };

template <class T, std::size_t R>
std::array<T, R> make_window(kind k) {
    std::array<T, R> v;
    const double base = maso_test::uniform(-2, 2);
    for (auto& x : v) {
        const double level = std::floor(maso_test::uniform(-1, 3)); // −1, 0, 1 or 2: ties
        switch (k) {
        case kind::random:
            x = T(maso_test::uniform(-3, 3));
            break;
        case kind::ties:
            x = T(level);
            break;
        case kind::all_equal:
            x = T(base);
            break;
        case kind::huge:
            x = T(maso_test::uniform(-1e4, 1e4));
            break;
        case kind::huge_ties:
            x = T(level * 5e3);
            break;
        case kind::close:
            x = T(1e3 + 1e-3 * level);
            break;
        case kind::padding:
            x = T(maso_test::uniform(-1e30, 1e30));
            break;
        default:
            x = T(maso_test::uniform(-3, 3));
            break;
        }
    }
    return v;
}

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-13;

/// The size of the terms a lane's results are formed from, in double from the reference
/// posterior: where y − v_j or a gradient cancels, two correct implementations differ by
/// the rounding of those terms (the mean's, times η in ∂L/∂v), not of the result. Each p_r
/// may also differ by the smallest normal T: below it exp is subnormal in std::exp and
/// flushed to 0 by fast_exp without AVX-512 (simd/batch_ops.hpp).
struct scales {
    double y;
    std::vector<double> dv;
    double deta;
};
template <class T, std::size_t R>
scales scales_of(const std::array<T, R>& w, const window_pool<T>& pool, T dy) {
    std::array<double, R> v, p;
    double vmax = 0;
    for (std::size_t r = 0; r < R; ++r) {
        v[r] = double(w[r]);
        vmax = std::max(vmax, std::fabs(v[r]));
    }
    scales s{vmax, std::vector<double>(R), 0};
    if (pool.hard) return s; // compared exactly
    const double eta = double(pool.eta);
    const double spread = std::isinf(eta) ? 0 : eta;
    const auto q = vq::posterior_of<double>(v, eta, p);
    const double g = std::fabs(double(dy));
    const double p_floor = double(std::numeric_limits<T>::min()) / tolerance<T>;
    for (std::size_t j = 0; j < R; ++j) {
        const double c = std::fabs(v[j] - q.mean), pj = p[j] + p_floor;
        s.dv[j] = g * pj * (1 + spread * (c + vmax));
        s.deta += g * pj * c * (c + 2 * vmax);
    }
    return s;
}

/// Fills a batch of windows of mixed kinds, runs them as lanes and lane by lane through
/// window_pool, and through window_lanes' scalar path.
template <class T, std::size_t R>
void check_lanes_equal_window_pool(const vq::basic_beta<T>& beta, int rounds) {
    using batch = xsimd::batch<T, test_arch>;
    constexpr std::size_t W = batch::size;
    const window_pool<T> pool(beta);
    const window_lanes<T> lanes(beta);
    BOOST_REQUIRE_EQUAL(lanes.hard, pool.hard);
    const auto kinds = static_cast<int>(kind::count);
    for (int round = 0; round < rounds; ++round) {
        std::array<std::array<T, R>, W> win;
        std::array<kind, W> kinds_of;
        alignas(64) std::array<T, W> dy_lane;
        for (std::size_t l = 0; l < W; ++l) {
            // every kind in every lane position across the rounds, mixed within a batch
            kinds_of[l] = static_cast<kind>((round + int(l)) % kinds);
            win[l] = make_window<T, R>(kinds_of[l]);
            const bool padded = kinds_of[l] == kind::padding || kinds_of[l] == kind::zero_dy;
            dy_lane[l] = padded ? T(0) : T(maso_test::uniform(-2, 2));
        }
        std::array<batch, R> v;
        for (std::size_t r = 0; r < R; ++r) {
            alignas(64) std::array<T, W> m;
            for (std::size_t l = 0; l < W; ++l)
                m[l] = win[l][r];
            v[r] = batch::load_aligned(m.data());
        }
        const batch dy = batch::load_aligned(dy_lane.data());
        std::array<batch, R> dv;
        alignas(64) std::array<T, W> y_out, deta_out;
        lanes.forward(v).store_aligned(y_out.data());
        lanes.backward(v, dy, dv).store_aligned(deta_out.data());
        std::array<std::array<T, W>, R> dv_out;
        for (std::size_t r = 0; r < R; ++r)
            dv[r].store_unaligned(dv_out[r].data());

        for (std::size_t l = 0; l < W; ++l) {
            BOOST_TEST_CONTEXT("R = " << R << ", eta = " << pool.eta << ", hard = " << pool.hard
                                      << ", kind " << int(kinds_of[l]) << ", lane " << l) {
                const std::span<const T> w(win[l]);
                std::array<T, R> dv_ref{}, dv_scalar{};
                const T y_ref = pool.forward(w);
                const T deta_ref = pool.backward(w, dy_lane[l], dv_ref);
                const T y_scalar = lanes.forward(win[l]);
                const T deta_scalar = lanes.backward(win[l], dy_lane[l], dv_scalar);

                if (dy_lane[l] == T(0)) { // padding: exactly nothing, garbage or not
                    for (std::size_t r = 0; r < R; ++r) {
                        BOOST_CHECK_EQUAL(dv_out[r][l], T(0));
                        BOOST_CHECK_EQUAL(dv_scalar[r], T(0));
                    }
                    BOOST_CHECK_EQUAL(deta_out[l], T(0));
                    BOOST_CHECK_EQUAL(deta_scalar, T(0));
                    if (kinds_of[l] == kind::padding) continue; // no reference to match
                }
                if (pool.hard) { // the same winner, exactly
                    BOOST_CHECK_EQUAL(y_out[l], y_ref);
                    BOOST_CHECK_EQUAL(y_scalar, y_ref);
                    for (std::size_t r = 0; r < R; ++r) {
                        BOOST_CHECK_EQUAL(dv_out[r][l], dv_ref[r]);
                        BOOST_CHECK_EQUAL(dv_scalar[r], dv_ref[r]);
                    }
                    BOOST_CHECK_EQUAL(deta_out[l], T(0));
                    BOOST_CHECK_EQUAL(deta_scalar, T(0));
                    continue;
                }
                const scales s = scales_of(win[l], pool, dy_lane[l]);
                const double tol = tolerance<T>;
                MASO_CHECK_CLOSE(y_out[l], y_ref, tol, s.y);
                MASO_CHECK_CLOSE(y_scalar, y_ref, tol, s.y);
                for (std::size_t r = 0; r < R; ++r) {
                    MASO_CHECK_CLOSE(dv_out[r][l], dv_ref[r], tol, s.dv[r]);
                    MASO_CHECK_CLOSE(dv_scalar[r], dv_ref[r], tol, s.dv[r]);
                }
                MASO_CHECK_CLOSE(deta_out[l], deta_ref, tol, s.deta);
                MASO_CHECK_CLOSE(deta_scalar, deta_ref, tol, s.deta);
            }
        }
    }
}

template <class T>
void check_all_betas() {
    for (const auto& beta : test_betas<T>()) {
        check_lanes_equal_window_pool<T, 4>(beta, 64);
        check_lanes_equal_window_pool<T, 9>(beta, 64);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(float_lanes_equal_window_pool) { check_all_betas<float>(); }
BOOST_AUTO_TEST_CASE(double_lanes_equal_window_pool) { check_all_betas<double>(); }

BOOST_AUTO_TEST_CASE(ties_go_to_the_first_maximum_in_every_lane) {
    using batch = xsimd::batch<float, test_arch>;
    constexpr std::size_t W = batch::size;
    // lane l: the maximum 1 at members l % 4 and 3 (or only 3), 0 elsewhere
    std::array<batch, 4> v;
    for (std::size_t r = 0; r < 4; ++r) {
        alignas(64) std::array<float, W> m;
        for (std::size_t l = 0; l < W; ++l)
            m[l] = (r == l % 4 || r == 3) ? 1.f : 0.f;
        v[r] = batch::load_aligned(m.data());
    }
    const window_lanes<float> lanes(vq::basic_beta<float>::from_beta(1.f));
    std::array<batch, 4> dv;
    const batch deta = lanes.backward(v, batch(2.f), dv);
    BOOST_CHECK(xsimd::all(deta == batch(0.f)));
    BOOST_CHECK(xsimd::all(lanes.forward(v) == batch(1.f)));
    for (std::size_t r = 0; r < 4; ++r) {
        alignas(64) std::array<float, W> g;
        dv[r].store_aligned(g.data());
        for (std::size_t l = 0; l < W; ++l)
            BOOST_CHECK_EQUAL(g[l], r == l % 4 ? 2.f : 0.f);
    }
}

BOOST_AUTO_TEST_CASE(scalar_path_matches_finite_differences) {
    const auto fd_check = [](const vq::basic_beta<double>& beta, std::array<double, 9> v) {
        const window_lanes<double> lanes(beta);
        std::array<double, 9> dv;
        const double dy = 0.75;
        const double deta = lanes.backward(v, dy, dv);
        const double y = lanes.forward(v);
        for (std::size_t j = 0; j < 9; ++j) {
            const auto f = [&](double x) {
                auto u = v;
                u[j] = x;
                return dy * lanes.forward(u);
            };
            MASO_CHECK_DERIVATIVE(dv[j], maso_test::central_difference(f, v[j]), dy * y);
        }
        if (lanes.hard) {
            BOOST_CHECK_EQUAL(deta, 0.0);
            return;
        }
        if (lanes.eta == 0) return; // η − h < 0 is no β
        const auto g = [&](double eta) {
            return dy * window_lanes<double>(vq::basic_beta<double>::from_eta(eta)).forward(v);
        };
        MASO_CHECK_DERIVATIVE(deta, maso_test::central_difference(g, lanes.eta), dy * y);
    };
    for (int round = 0; round < 20; ++round) {
        // distinct values ≥ 0.05 apart: the hard path's kinks stay far from the steps
        std::array<double, 9> v;
        for (std::size_t r = 0; r < 9; ++r)
            v[r] = 0.05 * double((r * 4 + std::size_t(round)) % 9) + maso_test::uniform(0, 0.01);
        for (const double eta : {0.0, 0.5, 1.0, 9.0})
            fd_check(vq::basic_beta<double>::from_eta(eta), v);
        fd_check(vq::basic_beta<double>::from_beta(1.0), v);
        // β-VQ is smooth through ties
        std::array<double, 9> t;
        for (auto& x : t)
            x = std::floor(maso_test::uniform(-1, 3));
        for (const double eta : {0.0, 0.5, 1.0, 9.0})
            fd_check(vq::basic_beta<double>::from_eta(eta), t);
    }
}

BOOST_AUTO_TEST_CASE(pooling_layers_hand_out_their_channel_s_math) {
    using S = shape<2, 4, 4>;
    using Out = detail::pooled_shape_t<S, 2>;
    std::vector<float> plane(S::plane);
    for (auto& x : plane)
        x = float(std::floor(maso_test::uniform(-2, 3))); // ties in most windows
    const std::array<float, 2> theta{-0.7f, 1.3f};
    const auto check = [&](const auto& layer, const auto& io, std::size_t c) {
        const window_lanes<float> lanes = layer.lanes(io, c);
        std::vector<float> out(Out::plane);
        layer.forward_planes(io, c, plane.data(), out.data(), 1);
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < 2; ++j)
                BOOST_CHECK_EQUAL(lanes.forward(detail::gather_window<2, 4>(plane.data(), i, j)),
                                  out[i * 2 + j]);
        return lanes;
    };

    const maxpool_node<2>::layer<S, float> maxp(maxpool<2>());
    const avgpool_node<2>::layer<S, float> avgp(avgpool<2>());
    const softpool_node<2>::layer<S, float> fixed(softpool<2>(0.3f));
    const softpool_node<2>::layer<S, float> hard(softpool<2>(1.f));
    const softpool_node<2>::layer<S, float> learned(softpool<2>(learnable_per_channel(0.5f)));
    layer_io<S, Out, float> io{};
    io.params = theta;
    for (std::size_t c = 0; c < 2; ++c) {
        BOOST_CHECK(check(maxp, io, c).hard);
        const auto avg = check(avgp, io, c);
        BOOST_CHECK(!avg.hard && avg.eta == 0.f);
        const auto soft = check(fixed, io, c);
        BOOST_CHECK(!soft.hard);
        BOOST_CHECK_CLOSE(soft.eta, 0.3f / 0.7f, 1e-4);
        BOOST_CHECK(check(hard, io, c).hard);
        const auto per_channel = check(learned, io, c);
        BOOST_CHECK(!per_channel.hard && per_channel.eta == std::exp(theta[c]));
    }
}
