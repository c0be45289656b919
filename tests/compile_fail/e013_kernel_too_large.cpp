// maso E013: conv2d with valid padding needs K no larger than the input map.
#include <maso/expr/chain.hpp>
#include <maso/layers/conv2d.hpp>
#include <maso/layers/input.hpp>

using namespace maso;

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = input<3, 4, 4>() >> conv2d<8, 5, 1, padding::valid>();
#else
    auto net = input<3, 4, 4>() >> conv2d<8, 3, 1, padding::valid>();
#endif
    return int(decltype(net)::size) - 2;
}
