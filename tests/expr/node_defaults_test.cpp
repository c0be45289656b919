// Tests of include/maso/expr/node_defaults.hpp: the shared answers of the node contract.
#include <maso/core/shape.hpp>
#include <maso/expr/node_defaults.hpp>

#include <boost/test/unit_test.hpp>

#include <random>
#include <type_traits>
#include <vector>

using namespace maso;

namespace {

/// A shape-keeping node that checks its input: its check hides keeps_shape's.
struct picky : keeps_shape {
    template <class In>
    static consteval diag check() {
        return In::is_vector ? diag::ok : diag::softmax_needs_vector;
    }
};

/// A layer that takes all three: nothing of its own but the constructor.
struct plain_layer : no_parameters<double>, no_state {
    explicit plain_layer(int) {}
};

} // namespace

BOOST_AUTO_TEST_CASE(keeps_shape_accepts_any_input_and_keeps_it) {
    static_assert(keeps_shape::check<shape<3, 4, 5>>() == diag::ok);
    static_assert(keeps_shape::check<invalid_shape>() == diag::ok);
    static_assert(std::is_same_v<keeps_shape::output_shape<shape<3, 4, 5>>, shape<3, 4, 5>>);
    static_assert(std::is_same_v<keeps_shape::output_shape<shape<7>>, shape<7>>);
    static_assert(std::is_empty_v<keeps_shape>);
}

BOOST_AUTO_TEST_CASE(a_node_with_its_own_check_keeps_the_shape) {
    static_assert(picky::check<shape<3>>() == diag::ok);
    static_assert(picky::check<shape<3, 2, 2>>() == diag::softmax_needs_vector);
    static_assert(std::is_same_v<picky::output_shape<shape<3>>, shape<3>>);
}

BOOST_AUTO_TEST_CASE(layer_defaults_are_zero_and_do_nothing) {
    const plain_layer layer(1);
    BOOST_CHECK_EQUAL(layer.parameter_count(), 0u);
    BOOST_CHECK_EQUAL(layer.state_size(0), 0u);
    BOOST_CHECK_EQUAL(layer.state_size(64), 0u);
    BOOST_CHECK_EQUAL(layer.scratch_size(64), 0u);
    std::mt19937_64 rng(1);
    init_context ctx{rng};
    layer.initialize(std::span<double>(), ctx);
    std::vector<double> untouched{1.0, 2.0}; // initialize never writes
    layer.initialize(std::span<double>(untouched), ctx);
    BOOST_CHECK(untouched == (std::vector<double>{1.0, 2.0}));
    static_assert(std::is_empty_v<no_state> && std::is_empty_v<no_parameters<float>>);
    static_assert(sizeof(plain_layer) == 1); // empty bases add nothing
}
