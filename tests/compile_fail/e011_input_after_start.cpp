// maso E011: input<...>() may only start a network.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    const auto net = maso::input<3>() >> maso::dense<4>() >> maso::input<4>();
#else
    const auto net = maso::input<3>() >> maso::dense<4>();
#endif
    return int(net.size) - 2;
}
