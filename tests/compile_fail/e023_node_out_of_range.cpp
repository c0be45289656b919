// maso E023: a node index past the network's last node.
#include <maso/maso.hpp>

int main() {
    const auto net = maso::input<3>() >> maso::dense<2>() >> maso::hard_vq<maso::relu>();
    auto m = maso::instantiate(net, 1);
#ifdef MASO_COMPILE_FAIL
    const auto p = m.parameters<3>(); // nodes 0, 1, 2
#else
    const auto p = m.parameters<1>();
#endif
    return int(p.size() + m.gradients<2>().size()) - 8;
}
