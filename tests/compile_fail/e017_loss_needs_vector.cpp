// maso E017: softmax_cross_entropy needs a vector of class scores (H = W = 1).
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/softmax_cross_entropy.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = maso::input<3, 2, 2>() >> maso::softmax_cross_entropy();
#else
    auto net = maso::input<12>() >> maso::softmax_cross_entropy();
#endif
    return int(net.size) - 2;
}
