// Tests of include/maso/expr/chain.hpp: >> builds flat lists and checks shapes on the spot.
#include <maso/expr/chain.hpp>
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/vq_node.hpp>

#include <boost/test/unit_test.hpp>

#include <type_traits>

using namespace maso;

BOOST_AUTO_TEST_CASE(chains_are_flat_and_carry_the_output_shape) {
    const auto net = input<8>() >> dense<4>() >> hard_vq<relu>() >> dense<2>();
    using N = std::decay_t<decltype(net)>;
    static_assert(
        std::is_same_v<
            N, chain<shape<2>, input_node<8>, dense_node<4>, vq_node<relu, true>, dense_node<2>>>);
    static_assert(N::size == 4);
    BOOST_CHECK_EQUAL(maso::get<0>(net.nodes).name(maso::get<0>(net.nodes)), "input<8, 1, 1>");
}

BOOST_AUTO_TEST_CASE(fragments_are_spliced_node_by_node) {
    const auto block = dense<5>() >> beta_vq<relu>(learnable(0.3f));
    static_assert(std::is_same_v<std::decay_t<decltype(block)>::output_shape, no_input>);
    const auto net = input<3>() >> block >> block >> dense<1>();
    using N = std::decay_t<decltype(net)>;
    static_assert(N::size == 6); // not nested: input, dense, unit, dense, unit, dense
    static_assert(std::is_same_v<N::output_shape, shape<1>>);
    // runtime configuration travels with the nodes
    BOOST_CHECK_EQUAL(maso::get<2>(net.nodes).beta.value, 0.3f);
    BOOST_CHECK(maso::get<4>(net.nodes).beta.learnable);
}

BOOST_AUTO_TEST_CASE(checks_are_per_node_codes) {
    // What >> would report, without failing this file's compilation.
    static_assert(detail::check_append<dense_node<3>, shape<2, 2, 2>, false>() ==
                  diag::dense_needs_vector);
    static_assert(detail::check_append<dense_node<3>, shape<4>, true>() == diag::after_loss);
    static_assert(detail::check_append<input_node<3>, shape<4>, false>() ==
                  diag::input_after_start);
    // after a failure the chain is invalid_shape and silent
    static_assert(detail::check_append<dense_node<3>, invalid_shape, false>() == diag::ok);
    static_assert(std::is_same_v<detail::append_shape_t<dense_node<3>, shape<2, 2, 2>, false>,
                                 invalid_shape>);
}
