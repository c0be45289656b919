// maso E022: a network that starts with input<...>() cannot follow another node.
// What a user writes next (instantiate, forward, backward) adds no second error.
#include <maso/maso.hpp>

#include <vector>

int main() {
    const auto features = maso::input<8>() >> maso::dense<4>() >> maso::hard_vq<maso::relu>();
#ifdef MASO_COMPILE_FAIL
    const auto head = maso::input<4>() >> maso::dense<3>() >> maso::softmax_cross_entropy();
#else
    const auto head = maso::dense<3>() >> maso::softmax_cross_entropy();
#endif
    const auto net = features >> head;
    auto m = maso::instantiate(net, 2);
    const std::vector<float> x(16, 0.5f);
    const std::vector<int> labels{0, 1};
    m.forward(x, labels);
    m.backward();
    return int(m.parameters().size()) - 51;
}
