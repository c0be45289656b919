// maso E014: a k×k pooling window must divide the map's height and width.
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxpool.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = maso::input<3, 5, 5>() >> maso::maxpool<2>(); // 2 does not divide 5
#else
    auto net = maso::input<3, 4, 6>() >> maso::maxpool<2>();
#endif
    return int(decltype(net)::output_shape::channels) - 3;
}
