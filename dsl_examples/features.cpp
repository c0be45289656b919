// A network without a loss: forward, backward from a given output gradient, and the input
// gradient (docs/dsl.md). ctest runs it.

// Quoted by docs/dsl.md as it is:
// clang-format off
#include <maso/maso.hpp>

#include <vector>

using namespace maso;

const auto features = input<3, 16, 16>() >> conv2d<8, 3>() >> beta_vq<relu>(0.9f) >>
                      softpool<2>(0.5f) >> global_avgpool();

int main() {
    auto model = instantiate(features, 4);
    model.enable_input_gradient();
    std::vector<float> images(4 * 3 * 16 * 16, 0.5f), dy(4 * 8, 1.f);
    model.forward(images);                           // returns 0: there is no loss
    model.backward(dy);                              // dL/d(output), [N][8]
    const activation<shape<3, 16, 16>, float> dx = model.input_gradient(); // [C][N][H][W]
    return dx.size() == images.size() ? 0 : 1;
}
// clang-format on
