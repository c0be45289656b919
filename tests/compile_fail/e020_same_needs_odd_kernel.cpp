// maso E020: conv2d with same padding needs an odd kernel size.
#include <maso/expr/chain.hpp>
#include <maso/layers/conv2d.hpp>
#include <maso/layers/input.hpp>

using namespace maso;

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = input<3, 4, 4>() >> conv2d<8, 2>();
#else
    auto net = input<3, 4, 4>() >> conv2d<8, 3>();
#endif
    return int(decltype(net)::size) - 2;
}
