// maso E011: input<...>() may only start a network.
// What a user writes next (describe, instantiate, forward, backward) adds no second error.
#include <maso/maso.hpp>

#include <vector>

int main() {
#ifdef MASO_COMPILE_FAIL
    const auto net = maso::input<3>() >> maso::dense<4>() >> maso::input<4>();
#else
    const auto net = maso::input<3>() >> maso::dense<4>();
#endif
    const std::string plan = maso::describe(net);
    auto m = maso::instantiate(net, 2);
    const std::vector<float> x(6, 0.5f), dy(8, 1.f);
    m.forward(x);
    m.backward(dy);
    return int(net.size) - 2 + int(plan.empty());
}
