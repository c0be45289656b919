// maso E016: the loss (softmax_cross_entropy) must be the last node.
#include <maso/expr/chain.hpp>
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/softmax_cross_entropy.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = maso::input<4>() >> maso::softmax_cross_entropy() >> maso::dense<2>();
#else
    auto net = maso::input<4>() >> maso::dense<2>() >> maso::softmax_cross_entropy();
#endif
    return int(net.size) - 3;
}
