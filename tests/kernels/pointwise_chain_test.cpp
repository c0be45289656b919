// Tests of include/maso/kernels/pointwise_chain.hpp, built once per ISA: a chain
// of ops in one pass equals the ops applied one pass at a time, forward and
// backward, with every op's parameter gradient reduced, across loop tails.
#include <maso/kernels/pointwise_chain.hpp>
#include <maso/layers/bias.hpp>
#include <maso/layers/vq_node.hpp>

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <vector>

using namespace maso;
using maso_test::test_arch;

BOOST_AUTO_TEST_CASE(chain_equals_one_op_at_a_time) {
    constexpr std::size_t W = xsimd::batch<double, test_arch>::size;
    for (std::size_t n : {std::size_t(1), W, W + 1, 3 * W + 1, std::size_t(50)}) {
        const auto x = maso_test::uniform_vector<double>(n, -3, 3);
        const auto dy = maso_test::uniform_vector<double>(n, -1, 1);
        double g_bias = 0, g_theta1 = 0, g_theta2 = 0;
        double r_bias = 0, r_theta1 = 0, r_theta2 = 0;
        auto make = [](double* gb, double* g1, double* g2) {
            using U = vq_op<vq::relu, double>;
            using A = vq_op<vq::absolute, double>;
            const auto b1 = vq::basic_beta<double>::from_beta(0.7),
                       b2 = vq::basic_beta<double>::from_beta(0.3);
            return std::tuple{bias_op<double>{0.25, gb},
                              U{vq::beta_pass<vq::relu, double>({}, b1),
                                vq::hard_pass<vq::relu, double>({}), false, g1},
                              A{vq::beta_pass<vq::absolute, double>({}, b2),
                                vq::hard_pass<vq::absolute, double>({}), false, g2}};
        };
        const auto ops = make(&g_bias, &g_theta1, &g_theta2);
        const auto ref = make(&r_bias, &r_theta1, &r_theta2);

        // fused: one pass each way
        std::vector<double> y(n), dx(n);
        kernels::chain_forward(test_arch{}, ops, x.data(), y.data(), n);
        kernels::chain_backward(test_arch{}, ops, x.data(), dy.data(), dx.data(), n);

        // reference: op by op, materialising every intermediate
        std::vector<double> v0 = x, v1(n), v2(n), v3(n), d2(n), d1(n), d0(n);
        kernels::chain_forward(test_arch{}, std::tuple{std::get<0>(ref)}, v0.data(), v1.data(), n);
        kernels::chain_forward(test_arch{}, std::tuple{std::get<1>(ref)}, v1.data(), v2.data(), n);
        kernels::chain_forward(test_arch{}, std::tuple{std::get<2>(ref)}, v2.data(), v3.data(), n);
        kernels::chain_backward(test_arch{}, std::tuple{std::get<2>(ref)}, v2.data(), dy.data(),
                                d2.data(), n);
        kernels::chain_backward(test_arch{}, std::tuple{std::get<1>(ref)}, v1.data(), d2.data(),
                                d1.data(), n);
        kernels::chain_backward(test_arch{}, std::tuple{std::get<0>(ref)}, v0.data(), d1.data(),
                                d0.data(), n);

        for (std::size_t i = 0; i < n; ++i) {
            MASO_CHECK_CLOSE(y[i], v3[i], 1e-14, 1e-14);
            MASO_CHECK_CLOSE(dx[i], d0[i], 1e-13, 1e-13);
        }
        MASO_CHECK_CLOSE(g_bias, r_bias, 1e-12, 1e-12);
        MASO_CHECK_CLOSE(g_theta1, r_theta1, 1e-12, 1e-12);
        MASO_CHECK_CLOSE(g_theta2, r_theta2, 1e-12, 1e-12);
        BOOST_CHECK_NE(g_theta1, 0.0); // the reductions happened
    }
}
