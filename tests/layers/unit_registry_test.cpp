// Every unit of the registry (maso_test/unit_registry.hpp) as a β-VQ layer after a
// convolution, with a β learned per channel: gradients of every input, parameter and θ
// against central differences in double, fused against unfused (maso_test/expect_gradients).
#include <maso/maso.hpp>

#include <maso_test/expect_gradients.hpp>
#include <maso_test/unit_registry.hpp>

using namespace maso;

BOOST_AUTO_TEST_CASE(every_registered_unit_is_a_layer) {
    maso_test::for_each_unit([](const auto& unit) {
        using U = std::decay_t<decltype(unit)>;
        BOOST_TEST_CONTEXT(unit.name()) {
            const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >>
                             beta_vq<U>(learnable_per_channel(0.6f), unit) >> maxpool<2>();
            maso_test::expect_gradients(net, {.batch = 2});
            const auto hard = input<2, 4, 4>() >> conv2d<3, 3>() >> hard_vq<U>(unit);
            maso_test::expect_gradients(hard, {.batch = 2});
        }
    });
}
