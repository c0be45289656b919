// Tests of include/maso/layers/dense.hpp.
#include <maso/layers/dense.hpp>

#include <maso_test/expect_edge.hpp>
#include <maso_test/expect_layer.hpp>

using namespace maso;

BOOST_AUTO_TEST_CASE(gradients) {
    maso_test::expect_layer_gradients<shape<5>>(dense<3>());
    maso_test::expect_layer_gradients<shape<2, 1, 1>>(dense<7, false>(), {.batch = 3});
    maso_test::expect_layer_gradients<shape<17>>(dense<1>(), {.batch = 1});
}

BOOST_AUTO_TEST_CASE(forward_is_w_x_plus_b) {
    using L = dense_node<2>::layer<shape<3>, double>;
    const L layer{dense<2>()};
    const std::vector<double> p{1, 2, 3, 4, 5, 6, 0.5, -0.5}; // W = [[1,2,3],[4,5,6]], b
    const std::vector<double> x{1, 10, 0, 0, -1, 1};          // X[3][2], channel-major
    std::vector<double> y(4);
    layer_io<shape<3>, shape<2>, double> io;
    io.x = {x.data(), 2};
    io.y = {y.data(), 2};
    io.params = p;
    layer.forward(io);
    // image 0: x = (1, 0, -1); image 1: x = (10, 0, 1)
    BOOST_CHECK_EQUAL(y[0], 1 - 3 + 0.5);
    BOOST_CHECK_EQUAL(y[1], 10 + 3 + 0.5);
    BOOST_CHECK_EQUAL(y[2], 4 - 6 - 0.5);
    BOOST_CHECK_EQUAL(y[3], 40 + 6 - 0.5);
}

BOOST_AUTO_TEST_CASE(reads_the_network_input_as_given) {
    // The images as given, [batch][D], are the transposed operand (expr/node.hpp):
    // shapes with partial tiles and panels, D past one k block, a batch past one tile.
    static_assert(dense_node<4>::input_edge == edge_layout::images);
    using maso_test::expect_edge_matches;
    expect_edge_matches<shape<5>>(dense<3>(), 2);
    expect_edge_matches<shape<6, 1, 1>>(dense<7, false>(), 3);
    expect_edge_matches<shape<300>>(dense<13>(), 70);
    expect_edge_matches<shape<17>>(dense<64>(), 130);
}

BOOST_AUTO_TEST_CASE(shape_errors_are_codes) {
    static_assert(dense_node<4>::check<shape<3, 2, 2>>() == diag::dense_needs_vector);
    static_assert(dense_node<0>::check<shape<3>>() == diag::zero_extent);
    static_assert(dense_node<4>::check<shape<12>>() == diag::ok);
}

// Orthogonality constraints on W's rows (ortho/constrained_weight.hpp): every path's gradient
// by central differences, with the hooks run as a model runs them.
BOOST_AUTO_TEST_CASE(orthogonality_gradients) {
    using maso_test::expect_layer_gradients;
    using ortho::gs_form;
    expect_layer_gradients<shape<6>>(dense<4, ortho::penalty<>>());
    expect_layer_gradients<shape<3>>(dense<5, ortho::penalty<>>({.lambda = 2})); // K > D
    expect_layer_gradients<shape<6>>(
        dense<4, ortho::penalty<ortho::penalty_form::orthonormal>, false>({.lambda = 0.1}));
    expect_layer_gradients<shape<6>>(dense<4, ortho::gram_schmidt<>>(), {.batch = 3});
    expect_layer_gradients<shape<5>>(dense<5, ortho::gram_schmidt<gs_form::cgs2>>());
    expect_layer_gradients<shape<2, 1, 1>>(dense<2, ortho::cholesky_qr, false>());
    expect_layer_gradients<shape<7>>(dense<3, ortho::cholesky_qr>());
}

BOOST_AUTO_TEST_CASE(orthogonality_checks_and_names) {
    static_assert(dense_node<4, true, ortho::gram_schmidt<>>::check<shape<4>>() == diag::ok);
    static_assert(dense_node<9, true, ortho::penalty<>>::check<shape<4>>() == diag::ok);
    static_assert(dense_node<4, true, ortho::gram_schmidt<>>::check<shape<3, 2, 2>>() ==
                  diag::dense_needs_vector);
    static_assert(std::is_same_v<decltype(dense<3, ortho::cholesky_qr, false>()),
                                 dense_node<3, false, ortho::cholesky_qr>>);
    BOOST_TEST((dense_node<10, true, ortho::gram_schmidt<>>::name({})) ==
               "dense<10, ortho::gram_schmidt<classical>>");
    const std::string path =
        dense_node<4, true, ortho::penalty<>>::constraint_path<shape<6>>({{.lambda = 0.5}});
    BOOST_TEST(path.find("ortho::penalty<off_diagonal>(λ = 0.5) on W[4][6]") != std::string::npos);
}
