// Tests of include/maso/kernels/implicit_conv.hpp, built once per ISA: the three
// products of a convolution with their operands gathered from x (patch_rows,
// patch_columns) or scattered into dx (patch_scatter) against im2col / col2im
// (kernels/im2col.hpp) and naive loops in double — and, at stride 1, dx computed as
// the convolution of the padded dZ with the flipped filters (pad_columns,
// flip_filters, transposed_geometry) — in natural order and in window
// orders windows(k, L), for random geometries (channels, batch, map, kernel,
// stride, padding), every run length of the gathers, filter counts on and off the
// tile height, taps across the K block of the product and columns across its N
// block — and the same products bitwise identical on 1, 2 and 3 threads.
#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/im2col.hpp>
#include <maso/kernels/implicit_conv.hpp>

#include <maso_test/check.hpp>
#include <maso_test/column_map.hpp>
#include <maso_test/isa.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using maso_test::test_arch;

namespace {

namespace mk = maso::kernels;
using maso_test::column_map;
using maso_test::expected_columns;
using mk::conv_geometry;
using mk::patch_order;

std::string describe(const conv_geometry& g, patch_order o, std::size_t cout) {
    std::ostringstream s;
    s << "Cin " << g.channels << " batch " << g.batch << " map " << g.height << "x" << g.width
      << " kernel " << g.kernel << " stride " << g.stride << " pad " << g.pad << " (out "
      << g.out_height() << "x" << g.out_width() << "), ";
    if (o.is_natural())
        s << "natural";
    else
        s << "windows(" << o.window << ", " << o.lanes << ")";
    s << ", Cout " << cout;
    return s.str();
}

/// The orders a geometry is tested in: natural, and windows(k, L) for every k in
/// {2, 3} that divides both output extents, L in {1, 3, 16}.
std::vector<patch_order> orders_for(const conv_geometry& g) {
    std::vector<patch_order> orders{patch_order::natural()};
    for (std::size_t k : {2, 3})
        if (g.out_height() % k == 0 && g.out_width() % k == 0)
            for (std::size_t L : {1, 3, 16})
                orders.push_back(patch_order::windows(k, L));
    return orders;
}

/// The kernels' results for one convolution.
template <class T>
struct conv_results {
    std::vector<T> z, dw, dx;
    std::vector<T> dx_conv; ///< stride 1: dx as the convolution of the padded dZ
};

template <class T>
struct conv_operands {
    std::vector<T> x, w, dz, dw0;
};

template <class T>
conv_operands<T> random_operands(const conv_geometry& g, patch_order o, std::size_t cout) {
    const std::size_t D = g.rows(), N = o.columns(g);
    return {maso_test::uniform_vector<T>(g.channels * g.batch * g.height * g.width, -1, 1),
            maso_test::uniform_vector<T>(cout * D, -1, 1),
            maso_test::uniform_vector<T>(cout * N, -1, 1),
            maso_test::uniform_vector<T>(cout * D, -1, 1)};
}

/// Z = W · cols, dW = dW0 + dZ · colsᵀ and dx = col2im(Wᵀ · dZ), the way a
/// convolution layer calls them.
template <class T>
conv_results<T> run_kernels(const conv_geometry& g, patch_order o, std::size_t cout,
                            const conv_operands<T>& in) {
    using blocking = mk::gemm_blocking<test_arch, T>;
    using strided = mk::strided<T>;
    const std::size_t D = g.rows(), N = o.columns(g), K = g.kernel;
    conv_results<T> r;
    // The packers read x zero-padded; the padding starts as NaN so that a plane
    // pad_input leaves unwritten would show.
    std::vector<T> xp(mk::padded_size(g), std::numeric_limits<T>::quiet_NaN());
    mk::pad_input(g, in.x.data(), xp.data());
    // Z is overwritten: NaN left anywhere would show.
    r.z.assign(cout * N, std::numeric_limits<T>::quiet_NaN());
    mk::gemm<test_arch>(cout, N, D, strided{in.w.data(), D, 1},
                        mk::patch_rows<T, blocking::NC>{g, o, xp.data()}, r.z.data(), N, false);
    r.dw = in.dw0;
    mk::gemm<test_arch>(cout, D, N, strided{in.dz.data(), N, 1},
                        mk::patch_columns<T, blocking::KC>{g, o, xp.data()}, r.dw.data(), D, true);
    // dcols tiles add into a zeroed, padded dx; its interior is dx (NaN before, so
    // that an element unpad_output misses would show).
    std::vector<T> dxp(mk::padded_size(g), T(0));
    mk::gemm<test_arch>(D, N, cout, strided{in.w.data(), 1, D},
                        mk::matrix_b<T>{{in.dz.data(), N, 1}}, static_cast<T*>(nullptr), 0, false,
                        mk::patch_scatter<T>(g, o, dxp.data()), mk::gemm_split::rows,
                        std::lcm(blocking::MR, K * K));
    r.dx.assign(in.x.size(), std::numeric_limits<T>::quiet_NaN());
    mk::unpad_output(g, dxp.data(), r.dx.data());
    if (g.stride == 1) {
        // dx = the padded dZ convolved with the flipped filters. The padded dZ
        // starts as NaN so that a pixel pad_columns leaves unwritten would show.
        const conv_geometry t = mk::transposed_geometry(g, cout);
        std::vector<T> dzp(mk::padded_size(t), std::numeric_limits<T>::quiet_NaN());
        std::vector<T> flipped(cout * D);
        mk::flip_filters(in.w.data(), cout, g.channels, K, flipped.data());
        mk::pad_columns<test_arch>(g, o, cout, in.dz.data(), dzp.data());
        const std::size_t pixels = in.x.size() / g.channels;
        r.dx_conv.assign(in.x.size(), std::numeric_limits<T>::quiet_NaN());
        mk::gemm<test_arch>(g.channels, pixels, cout * K * K,
                            strided{flipped.data(), cout * K * K, 1},
                            mk::patch_rows<T, blocking::NC>{t, patch_order::natural(), dzp.data()},
                            r.dx_conv.data(), pixels, false);
    }
    return r;
}

/// The largest |got − want| / (rel · max(|got|, |want|, scale)) over a result: one
/// check per product (a check per element would cost more than the products).
template <class T>
void check_result(const char* what, const std::string& where, const std::vector<T>& got,
                  const std::vector<double>& want, const std::vector<double>& scale) {
    const double rel = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double g = got[i], w = want[i];
        const double bound = rel * std::max({std::fabs(g), std::fabs(w), scale[i]});
        const double r = std::isfinite(g) ? std::fabs(g - w) / (bound + 1e-300)
                                          : std::numeric_limits<double>::infinity();
        if (!(r <= worst)) worst = r, at = i;
    }
    BOOST_CHECK_MESSAGE(worst <= 1, what << " " << where << ": [" << at
                                         << "] = " << (got.empty() ? 0.0 : double(got[at]))
                                         << ", reference " << (want.empty() ? 0.0 : want[at])
                                         << " (error " << worst << " x tolerance)");
}

/// The kernels' results against im2col, col2im and naive loops in double.
template <class T>
void check_against_reference(const conv_geometry& g, patch_order o, std::size_t cout,
                             const conv_operands<T>& in, const conv_results<T>& out) {
    const std::string where =
        describe(g, o, cout) + (std::is_same_v<T, float> ? ", float" : ", double");
    const std::size_t D = g.rows(), nat = g.columns(), N = o.columns(g);
    BOOST_REQUIRE_EQUAL(N, expected_columns(g, o));
    const std::vector<std::ptrdiff_t> map = column_map(g, o);

    // The reference cols, its columns in order o and transposed: colsT[j·D + t].
    const std::vector<double> xd(in.x.begin(), in.x.end());
    std::vector<double> cols(D * nat);
    mk::im2col(g, xd.data(), cols.data());
    std::vector<double> colsT(N * D, 0.0);
    for (std::size_t j = 0; j < N; ++j)
        if (map[j] >= 0)
            for (std::size_t t = 0; t < D; ++t)
                colsT[j * D + t] = cols[t * nat + static_cast<std::size_t>(map[j])];

    // a. Z = W · cols.
    std::vector<double> z(cout * N), z_scale(cout * N);
    for (std::size_t i = 0; i < cout; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double s = 0, a = 0;
            for (std::size_t t = 0; t < D; ++t) {
                const double p = double(in.w[i * D + t]) * colsT[j * D + t];
                s += p, a += std::fabs(p);
            }
            z[i * N + j] = s, z_scale[i * N + j] = a;
        }
    check_result<T>("Z = W·cols (patch_rows)", where, out.z, z, z_scale);

    // b. dW = dW0 + dZ · colsᵀ.
    std::vector<double> dw(in.dw0.begin(), in.dw0.end()), dw_scale(cout * D);
    for (std::size_t i = 0; i < cout * D; ++i)
        dw_scale[i] = std::fabs(dw[i]);
    for (std::size_t i = 0; i < cout; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            const double d = in.dz[i * N + j];
            for (std::size_t t = 0; t < D; ++t) {
                const double p = d * colsT[j * D + t];
                dw[i * D + t] += p, dw_scale[i * D + t] += std::fabs(p);
            }
        }
    check_result<T>("dW += dZ·colsT (patch_columns)", where, out.dw, dw, dw_scale);

    // c. dx = col2im(Wᵀ · dZ), the padding columns of the order dropped.
    std::vector<double> dcols(D * nat, 0.0), dcols_abs(D * nat, 0.0);
    for (std::size_t j = 0; j < N; ++j) {
        if (map[j] < 0) continue;
        const std::size_t c = static_cast<std::size_t>(map[j]);
        for (std::size_t t = 0; t < D; ++t) {
            double s = 0, a = 0;
            for (std::size_t i = 0; i < cout; ++i) {
                const double p = double(in.w[i * D + t]) * double(in.dz[i * N + j]);
                s += p, a += std::fabs(p);
            }
            dcols[t * nat + c] = s, dcols_abs[t * nat + c] = a;
        }
    }
    std::vector<double> dx(in.x.size(), 0.0), dx_scale(in.x.size(), 0.0);
    mk::col2im(g, dcols.data(), dx.data());
    mk::col2im(g, dcols_abs.data(), dx_scale.data());
    check_result<T>("dx = col2im(WT·dZ) (patch_scatter)", where, out.dx, dx, dx_scale);
    BOOST_REQUIRE_EQUAL(out.dx_conv.empty(), g.stride != 1);
    if (g.stride == 1)
        check_result<T>("dx = padded dZ (*) flipped W (pad_columns, patch_rows)", where,
                        out.dx_conv, dx, dx_scale);
}

template <class T>
void check_conv(const conv_geometry& g, patch_order o, std::size_t cout) {
    const conv_operands<T> in = random_operands<T>(g, o, cout);
    check_against_reference<T>(g, o, cout, in, run_kernels<T>(g, o, cout, in));
}

constexpr std::size_t couts[] = {1, 5, 7, 13};

/// Every order of g, every Cout, float and double.
std::size_t check_geometry(const conv_geometry& g) {
    std::size_t window_orders = 0;
    for (patch_order o : orders_for(g)) {
        window_orders += !o.is_natural();
        for (std::size_t cout : couts) {
            check_conv<float>(g, o, cout);
            check_conv<double>(g, o, cout);
        }
    }
    return window_orders;
}

using maso_test::thread_count_guard;

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
void check_threads(const conv_geometry& g, patch_order o, std::size_t cout) {
    const std::size_t D = g.rows(), N = o.columns(g);
    BOOST_REQUIRE_GE(cout * N * D, std::size_t(1) << 20); // large enough to be split
    const conv_operands<T> in = random_operands<T>(g, o, cout);
    maso::set_num_threads(1);
    const conv_results<T> one = run_kernels<T>(g, o, cout, in);
    check_against_reference<T>(g, o, cout, in, one);
    for (std::size_t n : {2, 3}) {
        maso::set_num_threads(n);
        const conv_results<T> many = run_kernels<T>(g, o, cout, in);
        const std::string where = describe(g, o, cout) + ", " + std::to_string(n) + " threads";
        BOOST_CHECK_MESSAGE(bitwise_equal(one.z, many.z), "Z differs from 1 thread: " << where);
        BOOST_CHECK_MESSAGE(bitwise_equal(one.dw, many.dw), "dW differs from 1 thread: " << where);
        BOOST_CHECK_MESSAGE(bitwise_equal(one.dx, many.dx), "dx differs from 1 thread: " << where);
        BOOST_CHECK_MESSAGE(bitwise_equal(one.dx_conv, many.dx_conv),
                            "dx (by convolution) differs from 1 thread: " << where);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(columns_of_each_order) {
    // Natural: the pixels of the batch.
    const conv_geometry a{2, 3, 7, 5, 3, 1, 1}; // out 7×5
    BOOST_TEST(patch_order::natural().columns(a) == 3u * 7 * 5);
    BOOST_TEST(patch_order::natural().is_natural());
    // Windows: 2 images × 3×3 windows of 2×2 = 18 windows.
    const conv_geometry b{1, 2, 6, 6, 3, 1, 1}; // out 6×6
    BOOST_TEST(patch_order::windows(2, 16).windows_of(b) == 18u);
    BOOST_TEST(patch_order::windows(2, 16).columns(b) == 2u * 16 * 4); // 2 groups, the last padded
    BOOST_TEST(patch_order::windows(2, 1).columns(b) == 18u * 4);      // L = 1: never padded
    BOOST_TEST(patch_order::windows(2, 3).columns(b) == 6u * 3 * 4);   // 18 = 6 groups of 3
    BOOST_TEST(patch_order::windows(2, 4).columns(b) == 5u * 4 * 4);   // 18 → 5 groups of 4
    BOOST_TEST(patch_order::windows(3, 3).windows_of(b) == 8u);
    BOOST_TEST(patch_order::windows(3, 3).columns(b) == 3u * 3 * 9); // 8 → 3 groups of 3
    BOOST_TEST(!patch_order::windows(3, 3).is_natural());
    // Every order of many geometries against the definition.
    for (std::size_t n = 1; n <= 3; ++n)
        for (std::size_t h = 1; h <= 13; ++h)
            for (std::size_t w = 1; w <= 13; ++w)
                for (std::size_t k : {1, 2, 3})
                    for (std::size_t s : {1, 2}) {
                        if (h + 2 * (k / 2) < k || w + 2 * (k / 2) < k) continue;
                        const conv_geometry g{1, n, h, w, k, s, k / 2};
                        BOOST_TEST(patch_order::natural().columns(g) == expected_columns(g, {}));
                        for (std::size_t win : {2, 3})
                            for (std::size_t L : {1, 2, 3, 5, 16}) {
                                if (g.out_height() % win || g.out_width() % win) continue;
                                const patch_order o = patch_order::windows(win, L);
                                BOOST_TEST(o.columns(g) == expected_columns(g, o));
                            }
                    }
}

/// Channels 1..5, batch 1..3, maps 1..13 on each side, kernels 1, 2, 3 and 5,
/// strides 1..3, padding 0..K/2: every order (orders_for) and Cout 1, 5, 7, 13.
BOOST_AUTO_TEST_CASE(random_geometries) {
    std::mt19937 rng(7321u); // fixed: failures reproduce
    auto pick = [&](std::size_t lo, std::size_t hi) {
        return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
    };
    constexpr std::size_t kernels[] = {1, 2, 3, 5};
    std::size_t geometries = 0, window_orders = 0;
    while (geometries < 500) {
        conv_geometry g{};
        g.channels = pick(1, 5);
        g.batch = pick(1, 3);
        g.height = pick(1, 13);
        g.width = pick(1, 13);
        g.kernel = kernels[pick(0, 3)];
        g.stride = pick(1, 3);
        g.pad = pick(0, g.kernel / 2);
        if (g.height + 2 * g.pad < g.kernel || g.width + 2 * g.pad < g.kernel) continue;
        ++geometries;
        window_orders += check_geometry(g);
    }
    BOOST_TEST_MESSAGE(geometries << " geometries, " << window_orders << " window orders");
    BOOST_TEST(window_orders >= 200u); // the window orders are exercised, not just natural
}

/// Geometries beyond the blocks of the products: more columns than NC (512 floats,
/// 256 doubles) and than NR runs of a row, taps across KC = 256 (32 or 20 channels
/// of 3×3 or 5×5), rows of the map longer than a batch (the vector gather).
BOOST_AUTO_TEST_CASE(large_geometries) {
    const conv_geometry shapes[] = {
        {3, 2, 32, 32, 3, 1, 1},  // 2048 columns, out 32×32
        {3, 2, 32, 32, 5, 2, 2},  // out 16×16
        {2, 2, 24, 24, 3, 1, 1},  // 1152 columns, windows of 2 and 3
        {32, 2, 12, 12, 3, 1, 1}, // 288 taps
        {20, 1, 9, 7, 5, 1, 2},   // 500 taps, out 9×7
        {32, 3, 6, 6, 3, 2, 1},   // 288 taps, out 3×3
        {4, 2, 13, 11, 2, 3, 1},  // stride 3, out 5×4
        {2, 1, 40, 3, 3, 1, 0},   // long columns, one pixel wide
        {2, 1, 72, 72, 3, 2, 1},  // stride 2, out 36×36: rows of more than 2 batches
    };
    for (const conv_geometry& g : shapes)
        check_geometry(g);
}

/// Every length of a run, 1 to beyond 2·16 entries, at input strides 1, 2 and 3
/// (natural order with stride S; window order with k = 2 at stride 1 reads every
/// other input column), and every padding prefix and suffix: the gathers' vector
/// paths and their tails (masked at every count on AVX-512).
BOOST_AUTO_TEST_CASE(every_run_length) {
    struct kernel_shape {
        std::size_t kernel, stride, pad;
    };
    const kernel_shape shapes[] = {{1, 1, 0}, {3, 1, 1}, {2, 2, 0},
                                   {3, 2, 1}, {5, 2, 2}, {3, 3, 1}};
    for (std::size_t w = 1; w <= 72; ++w)
        for (const kernel_shape& s : shapes) {
            const conv_geometry g{2, 2, 4, w, s.kernel, s.stride, s.pad};
            if (w + 2 * s.pad < s.kernel) continue;
            for (patch_order o : orders_for(g))
                for (std::size_t cout : {1, 7}) {
                    check_conv<float>(g, o, cout);
                    check_conv<double>(g, o, cout);
                }
        }
}

/// Each product is split between the threads (≥ 2^20 multiply-adds): Z and dW by
/// columns, dx by whole input channels; every element is the same sum in the same
/// order whatever the count.
BOOST_AUTO_TEST_CASE(threads_give_bitwise_identical_results) {
    thread_count_guard guard;
    const conv_geometry g{16, 2, 16, 16, 3, 1, 1}; // 144 taps, 512 columns
    for (patch_order o :
         {patch_order::natural(), patch_order::windows(2, 16), patch_order::windows(2, 3)}) {
        check_threads<float>(g, o, 32);
        check_threads<double>(g, o, 32);
    }
    const conv_geometry h{20, 2, 18, 18, 5, 1, 2}; // 500 taps, 648 columns
    check_threads<float>(h, patch_order::windows(3, 16), 13);
    check_threads<double>(h, patch_order::natural(), 13);
}

/// Z = W · cols with every panel packed (in_place = false) or, where patch_rows
/// offers it, read in place by the micro-kernel: the same products in the same
/// order, so bitwise equal — over maps whose rows hold whole batches (every panel
/// in place), straddle them (some panels packed), pooled rows of 16 and more
/// windows (window order in place with AVX-512 float), and at stride 2 (in place with
/// AVX-512 float, a source built for stride 2 as conv2d builds it).
template <class T>
void check_in_place(const conv_geometry& g, patch_order o, std::size_t cout) {
    using blocking = mk::gemm_blocking<test_arch, T>;
    using strided = mk::strided<T>;
    const std::size_t D = g.rows(), N = o.columns(g);
    const conv_operands<T> in = random_operands<T>(g, o, cout);
    std::vector<T> xp(mk::padded_size(g));
    mk::pad_input(g, in.x.data(), xp.data());
    std::vector<std::vector<T>> z(2, std::vector<T>(cout * N, std::numeric_limits<T>::quiet_NaN()));
    for (bool in_place : {false, true}) {
        auto product = [&](const auto& source) {
            mk::gemm<test_arch>(cout, N, D, strided{in.w.data(), D, 1}, source, z[in_place].data(),
                                N, false);
        };
        if (g.stride == 2)
            product(mk::patch_rows<T, blocking::NC, 2>{g, o, xp.data(), in_place});
        else
            product(mk::patch_rows<T, blocking::NC>{g, o, xp.data(), in_place});
    }
    BOOST_CHECK_MESSAGE(bitwise_equal(z[0], z[1]),
                        "in place differs from packed: " << describe(g, o, cout));
}

BOOST_AUTO_TEST_CASE(panels_read_in_place_equal_packed_panels) {
    using blocking = mk::gemm_blocking<test_arch, float>;
    constexpr std::size_t W = xsimd::batch<float, test_arch>::size, NR = blocking::NR;
    // Which panels are read in place: stride 1, every batch on one output row.
    auto in_place = [](const mk::patch_rows<float, blocking::NC>& b, std::size_t pc, std::size_t j0,
                       std::size_t n) {
        return b.direct<test_arch, blocking>(pc, j0, n).has_value();
    };
    // The readers point into a padded input, which only its size matters for here.
    auto input = [](const conv_geometry& g) { return std::vector<float>(mk::padded_size(g)); };
    const conv_geometry rows{3, 2, 8, 4 * W, 3, 1, 1};
    const auto rows_x = input(rows);
    const mk::patch_rows<float, blocking::NC> natural{rows, patch_order::natural(), rows_x.data()};
    BOOST_TEST(in_place(natural, 0, 0, NR));
    BOOST_TEST(in_place(natural, 9, NR, NR));
    BOOST_TEST(!in_place(natural, 0, 0, NR - 1)); // a last panel
    const conv_geometry straddle{3, 2, 8, W + 3, 3, 1, 1};
    const auto straddle_x = input(straddle);
    const mk::patch_rows<float, blocking::NC> crossing{straddle, patch_order::natural(),
                                                       straddle_x.data()};
    BOOST_TEST(!in_place(crossing, 0, 0, NR));
    const conv_geometry strided2{3, 2, 16, 8 * W, 3, 2, 1};
    const auto strided2_x = input(strided2);
    const mk::patch_rows<float, blocking::NC> stride2{strided2, patch_order::natural(),
                                                      strided2_x.data()};
    BOOST_TEST(!in_place(stride2, 0, 0, NR)); // a source for stride 1
    // Built for stride 2, its natural-order panels are read in place with AVX-512 float
    // (whose loads take every other entry), its window orders never, and it reads no
    // stride-1 map in place.
    auto in_place_2 = [](const mk::patch_rows<float, blocking::NC, 2>& b, std::size_t j0) {
        return b.direct<test_arch, blocking>(0, j0, NR).has_value();
    };
    const bool even_loads = std::is_base_of_v<xsimd::avx512f, test_arch>;
    BOOST_TEST(in_place_2({strided2, patch_order::natural(), strided2_x.data()}, 0) == even_loads);
    BOOST_TEST(in_place_2({strided2, patch_order::natural(), strided2_x.data()}, NR) == even_loads);
    BOOST_TEST(!in_place_2({strided2, patch_order::windows(2, 16), strided2_x.data()}, 0));
    BOOST_TEST(!in_place_2({rows, patch_order::natural(), rows_x.data()}, 0));
    const mk::patch_rows<float, blocking::NC> windows{rows, patch_order::windows(2, 16),
                                                      rows_x.data()};
    const bool pairs = std::is_base_of_v<xsimd::avx512f, test_arch>; // W = 16, NV = 4
    BOOST_TEST(in_place(windows, 0, 0, NR) == pairs);

    const conv_geometry shapes[] = {
        {3, 2, 8, 32, 3, 1, 1},  // rows of 32: every panel in place
        {5, 3, 6, 40, 3, 1, 1},  // rows of 40: batches straddle rows
        {4, 2, 12, 64, 3, 1, 1}, // pooled rows of 32 windows
        {3, 1, 10, 48, 5, 1, 2}, // 5×5
        {2, 2, 9, 34, 3, 1, 0},  // valid: out 7×32
        {2, 3, 10, 32, 1, 1, 0}, // 1×1
        {3, 2, 16, 32, 3, 2, 1}, // stride 2, rows of 16: in place with AVX-512 float
        {2, 2, 12, 70, 3, 2, 1}, // stride 2, rows of 35: batches straddle rows
        {3, 1, 9, 66, 3, 2, 0},  // stride 2, valid: out 4×32
        {40, 1, 4, 32, 3, 1, 1}, // 360 taps: k blocks
    };
    for (const conv_geometry& g : shapes)
        for (patch_order o : orders_for(g))
            for (std::size_t cout : {7, 13}) {
                check_in_place<float>(g, o, cout);
                check_in_place<double>(g, o, cout);
            }
}
