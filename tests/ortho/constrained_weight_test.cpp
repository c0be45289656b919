// Tests of include/maso/ortho/constrained_weight.hpp: each tag's path as a layer holds it —
// which matrix the products use, where their gradient goes, what prepare and finish_backward
// do — against the kernels it wraps. The gradients through whole layers and networks are
// checked by central differences in tests/layers/{dense,conv2d}_test.cpp and
// tests/train/layer_hooks_test.cpp.
#include <maso/ortho/constrained_weight.hpp>

#include <maso_test/check.hpp>

#include <string>
#include <vector>

using namespace maso;
using namespace maso::ortho;

BOOST_AUTO_TEST_CASE(none_is_the_plain_weight) {
    constrained_weight<none, float, 3, 4> c(none{}, "dense<3>");
    static_assert(!decltype(c)::active && decltype(c)::accumulate_gradient);
    float w[12] = {}, g[12] = {};
    BOOST_TEST(c.weight(w) == w);
    BOOST_TEST(c.weight_gradient(g) == g);
    BOOST_TEST(path_description(none{}, 3, 4).empty());
}

BOOST_AUTO_TEST_CASE(penalty_counts_in_training_and_adds_its_gradient) {
    constexpr std::size_t K = 3, D = 5;
    const auto w = maso_test::uniform_vector<double>(K * D, -1, 1);
    constrained_weight<penalty<>, double, K, D> c(penalty<>{.lambda = 2}, "layer");
    static_assert(decltype(c)::accumulate_gradient);
    BOOST_TEST(c.weight(w.data()) == w.data());
    const double p = penalty_value<double>(w, K, D);
    MASO_CHECK_CLOSE(c.prepare(w, true), 2 * p, 1e-12, 0);
    std::vector<double> g(K * D, 1.0), expected(K * D, 1.0);
    penalty_kernel<double>(K, D).add_gradient(w, expected, 2);
    c.finish_backward(w, g);
    for (std::size_t i = 0; i < g.size(); ++i)
        MASO_CHECK_CLOSE(g[i], expected[i], 1e-12, 1e-12);
    // not counted (evaluation, or no loss): no term, no gradient
    BOOST_TEST(c.prepare(w, false) == 0.0);
    const std::vector<double> before = g;
    c.finish_backward(w, g);
    BOOST_TEST(g == before);
    BOOST_CHECK_THROW(c.set_lambda(-0.5), value_error);
    BOOST_TEST(c.lambda() == 2.0);
    BOOST_CHECK_THROW((constrained_weight<penalty<>, double, K, D>(penalty<>{.lambda = -1}, "l")),
                      value_error);
    BOOST_TEST(tag_string(c.tag()) == "ortho::penalty<off_diagonal>(λ = 2)");
}

template <class Tag, class Kernel>
void expect_reparametrisation() {
    constexpr std::size_t K = 4, D = 6;
    const auto w = maso_test::uniform_vector<double>(K * D, -1, 1);
    const auto dv = maso_test::uniform_vector<double>(K * D, -1, 1);
    constrained_weight<Tag, double, K, D> c(Tag{}, "layer");
    static_assert(!decltype(c)::accumulate_gradient);
    Kernel k(K, D);
    std::vector<double> v(K * D), dw(K * D, 0.5), expected(K * D, 0.5);
    k.forward(w, v);
    k.backward(dv, expected);
    BOOST_TEST(c.prepare(w, true) == 0.0);
    const double* used = c.weight(w.data());
    BOOST_TEST(used != w.data());
    BOOST_TEST(std::vector<double>(used, used + K * D) == v);      // the kernel's V, bit for bit
    std::copy(dv.begin(), dv.end(), c.weight_gradient(dw.data())); // what backward_affine does
    c.finish_backward(w, dw);
    BOOST_TEST(dw == expected);
    BOOST_TEST(c.defect_of(w) < 1e-12);
}

BOOST_AUTO_TEST_CASE(reparametrisations_use_v_and_map_dv_to_dw) {
    expect_reparametrisation<gram_schmidt<>, gram_schmidt_kernel<double>>();
    expect_reparametrisation<gram_schmidt<gs_form::cgs2>,
                             gram_schmidt_kernel<double, gs_form::cgs2>>();
    expect_reparametrisation<cholesky_qr, cholesky_qr_kernel<double>>();
}

BOOST_AUTO_TEST_CASE(paths_in_words) {
    BOOST_TEST(path_description(penalty<>{}, 96, 27)
                   .rfind("ortho::penalty<off_diagonal>(λ = 1) on W[96][27]: ", 0) == 0);
    BOOST_TEST(path_description(gram_schmidt<>{}, 8, 27).find("classical Gram–Schmidt") !=
               std::string::npos);
    BOOST_TEST(path_description(cholesky_qr{}, 8, 27).find("CholeskyQR2") != std::string::npos);
}
