// maso E019: a convolution stride must be at least 1.
#include <maso/expr/chain.hpp>
#include <maso/layers/conv2d.hpp>
#include <maso/layers/input.hpp>

using namespace maso;

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = input<3, 4, 4>() >> conv2d<8, 3, 0>();
#else
    auto net = input<3, 4, 4>() >> conv2d<8, 3, 1>();
#endif
    return int(decltype(net)::size) - 2;
}
