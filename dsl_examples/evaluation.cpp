// A small CNN with batch norm in training and in evaluation mode: the loss in evaluation and
// the class probabilities copied out (docs/dsl.md, evaluation and prediction). ctest runs it.

#include <maso/maso.hpp>

#include <vector>

using namespace maso;

const auto net = input<3, 8, 8>() >> conv2d<8, 3>() >> batch_norm() >> hard_vq<relu>() >>
                 global_avgpool() >> dense<4>() >> softmax_cross_entropy();

int main() {
    auto model = instantiate(net, 2);
    std::vector<float> images(2 * 3 * 8 * 8, 0.25f);
    std::vector<int> labels{1, 3};
    model.forward(images, labels); // training mode: batch statistics, running ones updated

    model.set_mode(mode::evaluation); // running statistics, nothing updated
    const float test_loss = model.forward(images, labels);
    std::vector<float> probabilities(2 * 4);
    model.output(probabilities); // [N][4]
    model.set_mode(mode::training);
    return test_loss >= 0 ? 0 : 1;
}
