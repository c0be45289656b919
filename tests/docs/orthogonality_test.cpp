// Tests of docs/orthogonality.md: its examples that no program of dsl_examples/ holds — a
// network with every tag, the metrics of a model, each kernel used alone — built and run as the
// page shows them (tests/docs/quotes_test.cpp checks that the page quotes these lines). The
// E024 line is tests/compile_fail/e024_rows_exceed_fan_in.cpp's.
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

using namespace maso;

namespace {

// In a network: a tag per layer, a penalty's λ given with it.
// Quoted by docs/orthogonality.md as it is:
// clang-format off
const auto net = input<3, 32, 32>()
    >> conv2d<96, 3, ortho::penalty<>>()                   // λ = 1, the paper's value
    >> batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f))
    >> conv2d<96, 3, ortho::gram_schmidt<>, 2>()            // V = GS(W), stride 2
    >> batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f))
    >> conv2d<192, 3, ortho::cholesky_qr, 1, padding::valid, false>()
    >> batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f))
    >> global_avgpool()
    >> dense<10, ortho::penalty<ortho::penalty_form::orthonormal>>({.lambda = 0.1})
    >> softmax_cross_entropy();
// clang-format on

bool has(const std::string& text, const std::string& piece) {
    return text.find(piece) != std::string::npos;
}

/// A K×D matrix of general rows (independent, not orthogonal), as every kernel's W: uniform
/// in [0, 1) from a fixed linear congruential sequence, so that the rows lean together.
std::vector<float> general_rows(std::size_t K, std::size_t D) {
    std::vector<float> w(K * D);
    std::uint32_t state = 12345;
    for (float& x : w) {
        state = state * 1664525u + 1013904223u;
        x = float(state >> 8) / float(1u << 24);
    }
    return w;
}

/// max_{i≠j} |<q_i, q_j>| and max_i |‖q_i‖² − 1|.
std::pair<double, double> orthonormality(const std::vector<float>& q, std::size_t K,
                                         std::size_t D) {
    double off = 0, diag = 0;
    for (std::size_t i = 0; i < K; ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            double s = 0;
            for (std::size_t d = 0; d < D; ++d)
                s += double(q[i * D + d]) * double(q[j * D + d]);
            if (i == j)
                diag = std::max(diag, std::fabs(s - 1));
            else
                off = std::max(off, std::fabs(s));
        }
    return {off, diag};
}

constexpr std::size_t K = 12, D = 40;

} // namespace

BOOST_AUTO_TEST_CASE(a_network_with_every_tag) {
    const std::string plan = describe(net);
    BOOST_TEST(has(plan, "ortho::penalty<off_diagonal>(λ = 1) on W[96][27]"), plan);
    BOOST_TEST(has(plan, "ortho::gram_schmidt<classical> on W[96][864]"), plan);
    BOOST_TEST(has(plan, "ortho::cholesky_qr on W[192][864]"), plan);
    BOOST_TEST(has(plan, "ortho::penalty<orthonormal>(λ = 0.1) on W[10][192]"), plan);

    constexpr std::size_t batch = 2;
    auto model = instantiate(net, batch, fuse::all, {.seed = 3});
    std::vector<float> images(batch * 3 * 32 * 32);
    for (std::size_t i = 0; i < images.size(); ++i)
        images[i] = std::cos(0.01f * float(i));
    const float loss = model.forward(images, std::vector<int>{3, 7});
    model.backward();
    BOOST_TEST(std::isfinite(loss));

    // The metrics, as the page prints them.
    // Quoted by docs/orthogonality.md as it is:
    // clang-format off
    for (const orthogonality_metric& r : orthogonality_metrics(model))
        std::printf("node %zu %s: P %g, max |cos| %g\n", r.node, r.constraint.c_str(), r.penalty,
                    r.defect);
    // clang-format on
    const auto records = orthogonality_metrics(model);
    BOOST_REQUIRE_EQUAL(records.size(), 4u);
    BOOST_TEST(records[0].node == 1u);
    BOOST_TEST(records[1].node == 4u);
    BOOST_TEST(records[2].node == 7u);
    BOOST_TEST(records[3].node == 11u);
    BOOST_TEST(records[0].lambda == 1.0);
    BOOST_TEST(records[3].lambda == 0.1);
    BOOST_TEST(records[1].defect <= 1e-5); // the exact paths' rows are orthogonal
    BOOST_TEST(records[2].defect <= 1e-5);
}

BOOST_AUTO_TEST_CASE(the_penalty_kernel) {
    const std::vector<float> w = general_rows(K, D);
    std::vector<float> dw(K * D, 0.f);
    const double lambda = 0.5;
    // Quoted by docs/orthogonality.md as it is:
    // clang-format off
    ortho::penalty_kernel<float> penalty(K, D);        // or (K, D, penalty_form::orthonormal)
    double p = penalty.value(w);                       // P(W)
    double q = penalty.add_gradient(w, dw, lambda);    // dw += λ ∂P/∂W; returns P(W)
    // clang-format on
    BOOST_TEST(p > 0);
    BOOST_TEST(q == p);
    BOOST_TEST(p == ortho::penalty_value<float>(w, K, D), boost::test_tools::tolerance(1e-4));
    // λ·∂P/∂W against a central difference of λ·P in double, on one entry.
    std::vector<double> wd(w.begin(), w.end());
    ortho::penalty_kernel<double> exact(K, D);
    const std::size_t at = 5 * D + 7;
    const double h = 1e-5;
    wd[at] += h;
    const double up = exact.value(wd);
    wd[at] -= 2 * h;
    const double down = exact.value(wd);
    const double fd = lambda * (up - down) / (2 * h);
    BOOST_TEST(std::fabs(double(dw[at]) - fd) <= 1e-3 * std::fabs(fd) + 1e-6, dw[at] << " vs " << fd);
}

BOOST_AUTO_TEST_CASE(the_gram_schmidt_kernels) {
    const std::vector<float> w = general_rows(K, D);
    std::vector<float> v(K * D), dv(K * D, 0.f), dw(K * D, 0.f);
    dv[3 * D + 1] = 1.f; // L = v[3][1]
    // Quoted by docs/orthogonality.md as it is:
    // clang-format off
    ortho::gram_schmidt_kernel<float> gs(K, D);                  // classical
    ortho::gram_schmidt_kernel<float, ortho::gs_form::cgs2> q(K, D);
    gs.forward(w, v);     // v = GS(W)
    gs.backward(dv, dw);  // dw += dL/dW, at the W of the last forward
    // clang-format on
    // Classical: v_1 = w_1, the rows orthogonal but not normalised.
    for (std::size_t d = 0; d < D; ++d)
        BOOST_TEST(v[d] == w[d]);
    BOOST_TEST(ortho::orthogonality_defect<float>(v, K, D) <= 1e-5);
    // dL/dW of row 3 only reaches rows ≤ 3: rows after it do not change v_3.
    for (std::size_t i = 4 * D; i < K * D; ++i)
        BOOST_TEST(dw[i] == 0.f);
    BOOST_TEST(dw[3 * D + 1] != 0.f);
    // CGS2: orthonormal rows.
    std::vector<float> u(K * D);
    q.forward(w, u);
    const auto [off, diag] = orthonormality(u, K, D);
    BOOST_TEST(off <= 1e-5);
    BOOST_TEST(diag <= 1e-5);
}

BOOST_AUTO_TEST_CASE(the_cholesky_qr_kernel) {
    const std::vector<float> w = general_rows(K, D);
    std::vector<float> q(K * D), dq(K * D, 0.f), dw(K * D, 0.f);
    for (std::size_t i = 0; i < dq.size(); ++i)
        dq[i] = float(i % 3) - 1.f;
    // Quoted by docs/orthogonality.md as it is:
    // clang-format off
    ortho::cholesky_qr_kernel<float> qr(K, D);
    qr.forward(w, q);     // q: orthonormal rows, q_j in span(w_1..w_j), <q_j, w_j> > 0
    qr.backward(dq, dw);  // dw += dL/dW
    // clang-format on
    const auto [off, diag] = orthonormality(q, K, D);
    BOOST_TEST(off <= 1e-5);
    BOOST_TEST(diag <= 1e-5);
    // The same Q as CGS2's, and <q_j, w_j> > 0.
    ortho::gram_schmidt_kernel<float, ortho::gs_form::cgs2> cgs2(K, D);
    std::vector<float> u(K * D);
    cgs2.forward(w, u);
    for (std::size_t i = 0; i < q.size(); ++i)
        BOOST_TEST(std::fabs(q[i] - u[i]) <= 1e-4f);
    for (std::size_t j = 0; j < K; ++j) {
        double s = 0;
        for (std::size_t d = 0; d < D; ++d)
            s += double(q[j * D + d]) * double(w[j * D + d]);
        BOOST_TEST(s > 0);
    }
    // The gradient, against cgs2's backward of the same dq.
    std::vector<float> dw2(K * D, 0.f);
    cgs2.backward(dq, dw2);
    float scale = 0;
    for (const float g : dw2)
        scale = std::max(scale, std::fabs(g));
    BOOST_REQUIRE_GT(scale, 0.f);
    for (std::size_t i = 0; i < dw.size(); ++i)
        BOOST_TEST(std::fabs(dw[i] - dw2[i]) <= 1e-3f * scale);
}

BOOST_AUTO_TEST_CASE(the_metrics_from_w_alone) {
    std::vector<float> w = general_rows(K, D);
    // Quoted by docs/orthogonality.md as it is:
    // clang-format off
    double defect = ortho::orthogonality_defect<float>(w, K, D);   // max_{i≠j} |cos(w_i, w_j)|
    double p = ortho::penalty_value<float>(w, K, D);               // P(W), P-a by default
    // clang-format on
    BOOST_TEST(defect > 0.1);
    BOOST_TEST(defect <= 1.0);
    BOOST_TEST(p > 0);
    // Rows 0 and 1 parallel: the defect is 1.
    for (std::size_t d = 0; d < D; ++d)
        w[D + d] = 2 * w[d];
    BOOST_TEST(ortho::orthogonality_defect<float>(w, K, D) == 1.0,
               boost::test_tools::tolerance(1e-6));
}
