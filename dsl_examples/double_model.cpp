// A double model, built by naming the model type (docs/dsl.md, float and double). ctest runs it.

#include <maso/maso.hpp>

#include <type_traits>

using namespace maso;

const auto net = input<5>() >> dense<4>() >> beta_vq<relu>(learnable(0.6f)) >> dense<2>();

int main() {
    model<std::decay_t<decltype(net)>, fuse::all_t, double> m(net, 3, {.seed = 5});
    return m.parameters().size() == 5 * 4 + 4 + 1 + 4 * 2 + 2 ? 0 : 1;
}
