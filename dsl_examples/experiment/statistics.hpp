// dsl_examples/experiment/statistics.hpp — the few statistics the experiment's summary reports:
// mean ± standard deviation over seeds, quartiles of a distribution, and a paired comparison of
// two cells over the seeds they share.
//
// Why paired: two cells trained with the same seed start from the same weights (instantiate's
// seed) and see the same batches (the trainer's seed), so the difference of their statistics
// seed by seed removes what the seed alone decides. The comparison is Student's paired t test,
// two-sided at 95 %: with 3 seeds a difference must exceed 4.3 standard errors of the mean
// difference to count, a deliberately high bar for so few runs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace maso_examples::experiment {

/// Mean and sample standard deviation (n − 1) of n values; sd is NaN for n < 2.
struct mean_sd {
    std::size_t n = 0;
    double mean = std::numeric_limits<double>::quiet_NaN();
    double sd = std::numeric_limits<double>::quiet_NaN();
};

inline mean_sd mean_and_sd(const std::vector<double>& x) {
    mean_sd r;
    r.n = x.size();
    if (x.empty()) return r;
    double sum = 0;
    for (double v : x)
        sum += v;
    r.mean = sum / double(x.size());
    if (x.size() < 2) return r;
    double squares = 0;
    for (double v : x)
        squares += (v - r.mean) * (v - r.mean);
    r.sd = std::sqrt(squares / double(x.size() - 1));
    return r;
}

/// The smallest, the quartiles (linear interpolation between order statistics, R's type 7),
/// the largest and the mean of a set of values; all NaN for an empty set.
struct distribution {
    std::size_t n = 0;
    double min = std::numeric_limits<double>::quiet_NaN(), q1 = min, median = min, q3 = min,
           max = min, mean = min;
};

inline distribution distribution_of(std::vector<double> x) {
    distribution d;
    d.n = x.size();
    if (x.empty()) return d;
    std::sort(x.begin(), x.end());
    const auto quantile = [&](double p) {
        const double h = p * double(x.size() - 1);
        const std::size_t lo = std::size_t(std::floor(h));
        const std::size_t hi = std::min(lo + 1, x.size() - 1);
        return x[lo] + (h - double(lo)) * (x[hi] - x[lo]);
    };
    d.min = x.front();
    d.q1 = quantile(0.25);
    d.median = quantile(0.5);
    d.q3 = quantile(0.75);
    d.max = x.back();
    d.mean = mean_and_sd(x).mean;
    return d;
}

/// The two-sided 95 % critical value of Student's t with df degrees of freedom (df ≥ 1): the
/// table's values to df = 30, then 1.96 + 2.4/df, within 0.003 of the exact value beyond.
inline double t_critical_95(std::size_t df) {
    static constexpr double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                       2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                       2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                       2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df == 0) return std::numeric_limits<double>::infinity();
    if (df <= 30) return table[df - 1];
    return 1.96 + 2.4 / double(df);
}

enum class verdict {
    better,     ///< a's mean is above b's and the paired t test says so at 95 %
    worse,      ///< below, and the test says so
    unresolved, ///< the difference is within what the seeds' spread allows (or n < 2)
};

/// a − b seed by seed: the mean and sd of the differences, t = mean / (sd / √n), the verdict.
struct paired_difference {
    mean_sd difference;
    double t = std::numeric_limits<double>::quiet_NaN();
    verdict outcome = verdict::unresolved;
};

/// a[i] and b[i] are the two cells' statistics under the same seed (equal sizes).
inline paired_difference compare_paired(const std::vector<double>& a,
                                        const std::vector<double>& b) {
    std::vector<double> d;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        d.push_back(a[i] - b[i]);
    paired_difference r;
    r.difference = mean_and_sd(d);
    if (d.size() < 2) return r;
    const double se = r.difference.sd / std::sqrt(double(d.size()));
    r.t = se > 0 ? r.difference.mean / se
          : r.difference.mean == 0
              ? 0
              : std::copysign(std::numeric_limits<double>::infinity(), r.difference.mean);
    const double critical = t_critical_95(d.size() - 1);
    r.outcome = r.t > critical    ? verdict::better
                : r.t < -critical ? verdict::worse
                                  : verdict::unresolved;
    return r;
}

} // namespace maso_examples::experiment
