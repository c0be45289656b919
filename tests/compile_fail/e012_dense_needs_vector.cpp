// maso E012: dense<N> needs a vector input.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    const auto net = maso::input<3, 8, 8>() >> maso::dense<10>();
#else
    const auto net = maso::input<3 * 8 * 8>() >> maso::dense<10>();
#endif
    return int(net.size) - 2;
}
