// maso E010: a network starts with input<...>().
#include <maso/layers/dense.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/vq_node.hpp>
#include <maso/train/model.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    const auto net = maso::dense<4>() >> maso::hard_vq<maso::relu>();
#else
    const auto net = maso::input<3>() >> maso::dense<4>() >> maso::hard_vq<maso::relu>();
#endif
    auto m = maso::instantiate(net, 2);
    return int(m.batch()) - 2;
}
