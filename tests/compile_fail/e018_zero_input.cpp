// maso E018 at the start of a network: an input with a zero extent.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    const auto net = maso::input<3, 0, 1>() >> maso::dense<2>();
#else
    const auto net = maso::input<3, 1, 1>() >> maso::dense<2>();
#endif
    return int(net.size) - 2;
}
