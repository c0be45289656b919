// Tests of dsl_examples/experiment/statistics.hpp against values worked by hand and the
// published t table.
#include <boost/test/unit_test.hpp>

#include "experiment/statistics.hpp"

#include <cmath>
#include <vector>

using namespace maso_examples::experiment;

BOOST_AUTO_TEST_CASE(mean_and_sample_sd) {
    const mean_sd m = mean_and_sd({2, 4, 4, 4, 5, 5, 7, 9});
    BOOST_TEST(m.n == 8u);
    BOOST_TEST(m.mean == 5.0);
    // Σ(x − 5)² = 32; the sample variance divides by n − 1 = 7.
    BOOST_TEST(m.sd == std::sqrt(32.0 / 7.0), boost::test_tools::tolerance(1e-15));
    const mean_sd one = mean_and_sd({0.8});
    BOOST_TEST(one.mean == 0.8);
    BOOST_TEST(std::isnan(one.sd)); // no spread from one run
    BOOST_TEST(std::isnan(mean_and_sd({}).mean));
}

BOOST_AUTO_TEST_CASE(quartiles_interpolate_between_order_statistics) {
    // R: quantile(c(1, 2, 3, 4, 10), type = 7) gives 1, 2, 3, 4, 10.
    const distribution d = distribution_of({10, 3, 1, 4, 2});
    BOOST_TEST(d.min == 1.0);
    BOOST_TEST(d.q1 == 2.0);
    BOOST_TEST(d.median == 3.0);
    BOOST_TEST(d.q3 == 4.0);
    BOOST_TEST(d.max == 10.0);
    BOOST_TEST(d.mean == 4.0);
    // Four values: the quartiles fall between them, at h = 0.75 and 2.25.
    const distribution e = distribution_of({0, 1, 2, 3});
    BOOST_TEST(e.q1 == 0.75);
    BOOST_TEST(e.median == 1.5);
    BOOST_TEST(e.q3 == 2.25);
}

BOOST_AUTO_TEST_CASE(t_critical_values_are_the_tables) {
    BOOST_TEST(t_critical_95(1) == 12.706);
    BOOST_TEST(t_critical_95(2) == 4.303);
    BOOST_TEST(t_critical_95(4) == 2.776);
    BOOST_TEST(t_critical_95(30) == 2.042);
    // Beyond the table: within 0.003 of t(40) = 2.021, t(60) = 2.000, t(120) = 1.980.
    BOOST_TEST(std::fabs(t_critical_95(40) - 2.021) < 0.003);
    BOOST_TEST(std::fabs(t_critical_95(60) - 2.000) < 0.003);
    BOOST_TEST(std::fabs(t_critical_95(120) - 1.980) < 0.003);
}

BOOST_AUTO_TEST_CASE(paired_comparisons) {
    // Differences 1, 2, 3: mean 2, sd 1, t = 2 / (1 / √3) = 3.46 < 4.303: within the spread.
    const paired_difference small = compare_paired({11, 12, 13}, {10, 10, 10});
    BOOST_TEST(small.difference.mean == 2.0);
    BOOST_TEST(small.difference.sd == 1.0);
    BOOST_TEST(small.t == 2 * std::sqrt(3.0), boost::test_tools::tolerance(1e-12));
    BOOST_TEST((small.outcome == verdict::unresolved));
    // Differences 2, 2.1, 1.9: t = 2 / (0.1 / √3) = 34.6: better; and the other way, worse.
    BOOST_TEST((compare_paired({12, 12.1, 11.9}, {10, 10, 10}).outcome == verdict::better));
    BOOST_TEST((compare_paired({10, 10, 10}, {12, 12.1, 11.9}).outcome == verdict::worse));
    // The same difference under every seed: infinitely sure.
    BOOST_TEST((compare_paired({2, 3}, {1, 2}).outcome == verdict::better));
    BOOST_TEST((compare_paired({1, 2}, {1, 2}).outcome == verdict::unresolved));
    // One pair is no test at all.
    BOOST_TEST((compare_paired({5}, {1}).outcome == verdict::unresolved));
}
