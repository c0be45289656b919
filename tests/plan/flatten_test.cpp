// Tests of include/maso/plan/flatten.hpp: the node list, and fragments refused.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/vq_node.hpp>
#include <maso/plan/infer_shapes.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

using Net = std::decay_t<decltype(input<6>() >> dense<5>() >> hard_vq<relu>() >> dense<3>())>;

BOOST_AUTO_TEST_CASE(flatten_names_the_node_list) {
    static_assert(plan::flatten<Net>::valid);
    static_assert(plan::flatten_t<Net>::size == 4);
    using fragment = std::decay_t<decltype(dense<5>() >> hard_vq<relu>())>;
    static_assert(!plan::flatten<fragment>::starts_with_input);
    BOOST_CHECK(true);
}
