// maso E016: the loss (softmax_cross_entropy) must be the last node.
// What a user writes next (instantiate, forward, backward) adds no second error.
#include <maso/maso.hpp>

#include <vector>

int main() {
#ifdef MASO_COMPILE_FAIL
    auto net = maso::input<4>() >> maso::softmax_cross_entropy() >> maso::dense<2>();
#else
    auto net = maso::input<4>() >> maso::dense<2>() >> maso::softmax_cross_entropy();
#endif
    auto m = maso::instantiate(net, 2);
    const std::vector<float> x(8, 0.5f);
    const std::vector<int> labels{0, 1};
    m.forward(x, labels);
    m.backward();
    return int(net.size) - 3;
}
