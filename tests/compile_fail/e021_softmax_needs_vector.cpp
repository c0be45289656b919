// maso E021: softmax() needs a vector of scores (H = W = 1).
#include <maso/expr/chain.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/softmax.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = maso::input<3, 2, 2>() >> maso::softmax();
#else
    auto net = maso::input<12>() >> maso::softmax();
#endif
    return int(net.size) - 2;
}
