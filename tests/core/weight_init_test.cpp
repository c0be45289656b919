// Tests of include/maso/core/weight_init.hpp: the three initialisers.
#include <maso/core/weight_init.hpp>

#include <maso_test/check.hpp>

#include <vector>

using namespace maso;

BOOST_AUTO_TEST_CASE(glorot_uniform_stays_in_its_bound_and_fills_it) {
    std::mt19937_64 rng(1);
    init_context ctx{rng, initializer::glorot_uniform};
    std::vector<double> w(200 * 50);
    init_weights<double>(w, 200, 50, 50, 200, ctx);
    const double a = std::sqrt(6.0 / 250);
    double lo = 0, hi = 0, mean = 0;
    for (double v : w) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        mean += v / w.size();
    }
    BOOST_CHECK_LE(hi, a);
    BOOST_CHECK_GE(lo, -a);
    BOOST_CHECK_GT(hi, 0.95 * a); // the whole interval is used
    BOOST_CHECK_LT(std::fabs(mean), 0.02 * a);
}

BOOST_AUTO_TEST_CASE(he_normal_has_variance_two_over_fan_in) {
    std::mt19937_64 rng(2);
    init_context ctx{rng, initializer::he_normal};
    std::vector<double> w(100 * 400);
    init_weights<double>(w, 100, 400, 400, 100, ctx);
    double var = 0;
    for (double v : w)
        var += v * v / w.size();
    BOOST_CHECK_CLOSE(var, 2.0 / 400, 3.0); // percent
}

BOOST_AUTO_TEST_CASE(orthogonal_rows_or_columns) {
    for (const auto& rc : {std::pair{4, 9}, std::pair{9, 4}, std::pair{5, 5}}) {
        const int rows = rc.first, cols = rc.second;
        std::mt19937_64 rng(3);
        init_context ctx{rng, initializer::orthogonal};
        std::vector<double> w(rows * cols);
        init_weights<double>(w, rows, cols, cols, rows, ctx);
        const bool by_rows = rows <= cols;
        const int count = by_rows ? rows : cols, len = by_rows ? cols : rows;
        auto at = [&](int i, int t) { return by_rows ? w[i * cols + t] : w[t * cols + i]; };
        for (int i = 0; i < count; ++i)
            for (int j = 0; j < count; ++j) {
                double dot = 0;
                for (int t = 0; t < len; ++t)
                    dot += at(i, t) * at(j, t);
                MASO_CHECK_CLOSE(dot, i == j ? 1.0 : 0.0, 1e-12, 1.0);
            }
    }
}

BOOST_AUTO_TEST_CASE(the_seed_decides) {
    std::vector<float> a(30), b(30), c(30);
    std::mt19937_64 r1(9), r2(9), r3(10);
    init_context c1{r1}, c2{r2}, c3{r3};
    init_weights<float>(a, 5, 6, 6, 5, c1);
    init_weights<float>(b, 5, 6, 6, 5, c2);
    init_weights<float>(c, 5, 6, 6, 5, c3);
    BOOST_CHECK(a == b);
    BOOST_CHECK(a != c);
}
