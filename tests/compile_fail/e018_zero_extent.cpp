// maso E018: shapes, widths and counts must be positive.
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    const auto net = maso::input<3>() >> maso::dense<0>();
#else
    const auto net = maso::input<3>() >> maso::dense<1>();
#endif
    return int(net.size) - 2;
}
