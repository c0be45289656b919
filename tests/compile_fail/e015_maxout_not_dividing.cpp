// maso E015: maxout<k> needs the channel count divisible by k.
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxout.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = maso::input<5, 4, 4>() >> maso::maxout<2>(); // 5 channels in groups of 2
#else
    auto net = maso::input<6, 4, 4>() >> maso::maxout<2>();
#endif
    return int(decltype(net)::output_shape::channels) - 3;
}
