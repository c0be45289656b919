// Theorem 4 / Corollary 1 of the paper (paper-spec §5) as a law: with orthogonal rows, a MASO
// layer's per-unit hard VQ is the joint MAP of the factorial model, and the joint posterior is
// the product of the per-unit posteriors; with random rows, it is not always.
//
// The model (eq. 10), σ = 1: K units of R = 2 regions, t_k ~ Cat(π_k) independent, and
//     x = Σ_k A[k, t_k] + ε,   ε ~ N(0, σ² I_D),
// with   ReLU  A[k,0] = 0,     A[k,1] = W_k
//        |·|   A[k,0] = −W_k,  A[k,1] = W_k.
//
// The correspondence used (Theorem 2 read backwards). Theorem 2's prior for offsets B is
//     π_{k,r} ∝ exp((B[k,r] + ½‖A[k,r]‖²)/σ²).
// Given a prior π, the offsets  B[k,r] = σ² log π_{k,r} − ½‖A[k,r]‖²  give exactly π (the
// normaliser is Σ_r π_{k,r} = 1). The per-unit hard VQ is then t̂_k = argmax_r z_{k,r}, with
// z_{k,r} = <A[k,r], x> + B[k,r], and the per-unit posterior softmax_r(z_{k,r}/σ²). For ReLU,
// z_{k,0} = σ² log π_{k,0} is a constant of the unit; subtracting it from both scores changes
// neither the argmax nor the softmax, so this is the ReLU unit max(0, <W_k, x> + b_k) with
// b_k = σ² log(π_{k,1}/π_{k,0}) − ½‖W_k‖² (Prop. 1's bias when the prior is uniform).
//
// The joint MAP minimises over all R^K assignments t
//     E(t) = ‖x − Σ_k A[k, t_k]‖² − 2σ² Σ_k log π_{k, t_k}   (= −2σ² log p(x, t) + const),
// brute force. Expanding the square, E(t) = ‖x‖² − 2 Σ_k z_{k,t_k} + 2 Σ_{k<k'} <A[k,t_k],
// A[k',t_k']>: the cross terms vanish under (11), which is what the law checks numerically.
// The rows are made orthogonal with ortho::gram_schmidt<classical>, the authors' form.
#include <maso/ortho/gram_schmidt.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <vector>

namespace {

enum class unit { relu, absolute };

struct outcome {
    std::size_t trials = 0;
    std::size_t map_differs = 0;    ///< joint MAP ≠ per-unit argmax
    double worst_posterior_gap = 0; ///< max_t |p(t | x) − Π_k p_k(t_k | x)|
    double smallest_energy_gap = std::numeric_limits<double>::infinity(); ///< best vs second best
};

/// Runs `trials` draws of x from the factorial model with rows w (K×D) and the prior π_{k,1}.
outcome run_case(unit u, const std::vector<double>& w, const std::vector<double>& p_active,
            std::size_t K, std::size_t D, std::size_t trials, std::mt19937& g) {
    const double sigma = 1;
    // A[k][r] (D each) and B[k][r] from the prior, as in the header comment.
    std::vector<double> a(K * 2 * D), b(K * 2), log_pi(K * 2);
    for (std::size_t k = 0; k < K; ++k) {
        log_pi[2 * k] = std::log(1 - p_active[k]);
        log_pi[2 * k + 1] = std::log(p_active[k]);
        for (std::size_t r = 0; r < 2; ++r) {
            double n = 0;
            for (std::size_t d = 0; d < D; ++d) {
                const double wk = w[k * D + d];
                const double v = r == 1 ? wk : (u == unit::relu ? 0.0 : -wk);
                a[(2 * k + r) * D + d] = v;
                n += v * v;
            }
            b[2 * k + r] = sigma * sigma * log_pi[2 * k + r] - n / 2;
        }
    }
    std::normal_distribution<double> noise(0, sigma);
    std::uniform_real_distribution<double> coin(0, 1);
    const std::size_t assignments = std::size_t(1) << K;
    std::vector<double> x(D), mean(D), energy(assignments), z(2 * K);
    outcome o;
    for (std::size_t trial = 0; trial < trials; ++trial) {
        // x from the model itself.
        std::fill(x.begin(), x.end(), 0.0);
        for (std::size_t k = 0; k < K; ++k) {
            const std::size_t t = coin(g) < p_active[k] ? 1 : 0;
            for (std::size_t d = 0; d < D; ++d)
                x[d] += a[(2 * k + t) * D + d];
        }
        for (auto& xd : x)
            xd += noise(g);
        // Per unit: the scores, the hard VQ, and the posterior.
        std::size_t per_unit = 0;
        for (std::size_t k = 0; k < K; ++k) {
            for (std::size_t r = 0; r < 2; ++r) {
                double s = b[2 * k + r];
                for (std::size_t d = 0; d < D; ++d)
                    s += a[(2 * k + r) * D + d] * x[d];
                z[2 * k + r] = s;
            }
            if (z[2 * k + 1] > z[2 * k]) per_unit |= std::size_t(1) << k;
        }
        // Jointly: every assignment, bit k of t being t_k.
        std::size_t joint = 0;
        for (std::size_t t = 0; t < assignments; ++t) {
            std::fill(mean.begin(), mean.end(), 0.0);
            double prior = 0;
            for (std::size_t k = 0; k < K; ++k) {
                const std::size_t r = (t >> k) & 1;
                prior += log_pi[2 * k + r];
                for (std::size_t d = 0; d < D; ++d)
                    mean[d] += a[(2 * k + r) * D + d];
            }
            double e = -2 * sigma * sigma * prior;
            for (std::size_t d = 0; d < D; ++d)
                e += (x[d] - mean[d]) * (x[d] - mean[d]);
            energy[t] = e;
            if (e < energy[joint]) joint = t;
        }
        double second = std::numeric_limits<double>::infinity();
        for (std::size_t t = 0; t < assignments; ++t)
            if (t != joint) second = std::min(second, energy[t]);
        o.smallest_energy_gap = std::min(o.smallest_energy_gap, second - energy[joint]);
        o.map_differs += joint != per_unit;
        // p(t | x) ∝ exp(−E(t)/2σ²) against Π_k softmax(z_k/σ²)[t_k].
        double norm = 0;
        for (std::size_t t = 0; t < assignments; ++t)
            norm += std::exp(-(energy[t] - energy[joint]) / (2 * sigma * sigma));
        for (std::size_t t = 0; t < assignments; ++t) {
            double product = 1;
            for (std::size_t k = 0; k < K; ++k) {
                const std::size_t r = (t >> k) & 1;
                const double m = std::max(z[2 * k], z[2 * k + 1]);
                const double e0 = std::exp((z[2 * k] - m) / (sigma * sigma));
                const double e1 = std::exp((z[2 * k + 1] - m) / (sigma * sigma));
                product *= (r == 1 ? e1 : e0) / (e0 + e1);
            }
            const double posterior =
                std::exp(-(energy[t] - energy[joint]) / (2 * sigma * sigma)) / norm;
            o.worst_posterior_gap = std::max(o.worst_posterior_gap, std::fabs(posterior - product));
        }
        ++o.trials;
    }
    return o;
}

/// Random rows of norms in [1, 2.5] (so that each unit's two regions are apart by more than
/// the noise), made orthogonal first if asked, with the authors' Gram–Schmidt.
std::vector<double> rows(std::size_t K, std::size_t D, bool orthogonal, std::mt19937& g) {
    std::normal_distribution<double> n;
    std::uniform_real_distribution<double> norm(1, 2.5);
    std::vector<double> w(K * D);
    for (auto& x : w)
        x = n(g);
    if (orthogonal) {
        maso::ortho::gram_schmidt_kernel<double, maso::ortho::gs_form::classical> gs(K, D);
        std::vector<double> v(K * D);
        gs.forward(w, v);
        w = v;
    }
    for (std::size_t k = 0; k < K; ++k) {
        double s = 0;
        for (std::size_t d = 0; d < D; ++d)
            s += w[k * D + d] * w[k * D + d];
        const double target = norm(g) / std::sqrt(s);
        for (std::size_t d = 0; d < D; ++d)
            w[k * D + d] *= target;
    }
    return w;
}

constexpr std::size_t trials_per_case = 400;
const unsigned seeds[] = {11, 12, 13, 14, 15};
const std::size_t unit_counts[] = {2, 5, 8};

} // namespace

BOOST_AUTO_TEST_CASE(orthogonal_rows_make_the_per_unit_vq_the_joint_map) {
    outcome total;
    for (const unsigned seed : seeds)
        for (const unit u : {unit::relu, unit::absolute})
            for (const std::size_t K : unit_counts)
                BOOST_TEST_CONTEXT("seed " << seed << (u == unit::relu ? ", ReLU" : ", |.|")
                                           << ", K = " << K) {
                    std::mt19937 g(seed * 1000 + K);
                    const std::size_t D = K + 3;
                    const auto w = rows(K, D, true, g);
                    std::vector<double> p(K);
                    for (auto& pk : p)
                        pk = std::uniform_real_distribution<double>(0.2, 0.8)(g);
                    const outcome o = run_case(u, w, p, K, D, trials_per_case, g);
                    // No near-tie could excuse a difference (checked: the gap is far from 0).
                    BOOST_CHECK_GT(o.smallest_energy_gap, 1e-9);
                    BOOST_CHECK_EQUAL(o.map_differs, 0u);
                    BOOST_CHECK_LE(o.worst_posterior_gap, 1e-12);
                    total.trials += o.trials;
                    total.worst_posterior_gap =
                        std::max(total.worst_posterior_gap, o.worst_posterior_gap);
                }
    BOOST_TEST_MESSAGE("orthogonal rows: " << total.trials << " trials, the joint MAP equals the "
                                           << "per-unit VQ in all; largest posterior gap "
                                           << total.worst_posterior_gap);
}

BOOST_AUTO_TEST_CASE(random_rows_do_not) {
    outcome total;
    double worst = 0;
    for (const unsigned seed : seeds)
        for (const unit u : {unit::relu, unit::absolute})
            for (const std::size_t K : unit_counts) {
                std::mt19937 g(seed * 1000 + K);
                const std::size_t D = K + 3;
                const auto w = rows(K, D, false, g);
                std::vector<double> p(K);
                for (auto& pk : p)
                    pk = std::uniform_real_distribution<double>(0.2, 0.8)(g);
                const outcome o = run_case(u, w, p, K, D, trials_per_case, g);
                total.trials += o.trials;
                total.map_differs += o.map_differs;
                worst = std::max(worst, o.worst_posterior_gap);
            }
    const double share = double(total.map_differs) / double(total.trials);
    BOOST_TEST_MESSAGE("random rows: the joint MAP differs from the per-unit VQ in "
                       << total.map_differs << " of " << total.trials << " trials (" << 100 * share
                       << "%); largest posterior gap " << worst);
    BOOST_CHECK_GT(total.map_differs, 0u);
    BOOST_CHECK_GT(worst, 1e-2);
}
