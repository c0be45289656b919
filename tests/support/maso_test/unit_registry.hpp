// maso_test/unit_registry.hpp — every elementwise unit maso ships, with the instances the
// tests run. A new unit is its header (include/maso/vq/units/) plus one line here: the
// registry drives its laws (vq/units/registry_test.cpp), its SIMD passes against the
// reference math (vq/region_pass_test.cpp) and its gradients as a layer, fused and unfused
// (layers/unit_registry_test.cpp).
#pragma once

#include <maso/vq/units/absolute.hpp>
#include <maso/vq/units/leaky_relu.hpp>
#include <maso/vq/units/relu.hpp>
#include <maso/vq/units/two_knot.hpp>

#include <tuple>

namespace maso_test {

inline const auto elementwise_units = std::tuple{
    maso::vq::relu{},
    maso::vq::leaky_relu{0.1},
    maso::vq::absolute{},
    maso::vq::two_knot{},
};

/// f(unit) for every registered unit.
template <class F>
void for_each_unit(F&& f) {
    std::apply([&](const auto&... unit) { (f(unit), ...); }, elementwise_units);
}

} // namespace maso_test
