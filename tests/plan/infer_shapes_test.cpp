// Tests of include/maso/plan/infer_shapes.hpp: one shape per node.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/vq_node.hpp>
#include <maso/plan/infer_shapes.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

using Net = std::decay_t<decltype(input<6>() >> dense<5>() >> hard_vq<relu>() >> dense<3>())>;

BOOST_AUTO_TEST_CASE(one_shape_per_node) {
    static_assert(
        std::is_same_v<plan::shapes_t<Net>, type_list<shape<6>, shape<5>, shape<5>, shape<3>>>);
    static_assert(std::is_same_v<plan::input_shape_t<Net, 3>, shape<5>>);
    static_assert(std::is_same_v<plan::output_shape_t<Net, 3>, shape<3>>);
    BOOST_CHECK(true);
}
