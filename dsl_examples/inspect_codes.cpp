// A network's VQ codes from its fused forward pass, the cells a batch visits and the affine
// map on one image's cell: the complete program of docs/inspect.md. ctest runs it; it exits
// with an error if the map does not give the model's output.

// Quoted by docs/inspect.md as it is:
// clang-format off
#include <maso/inspect/affine_map.hpp>
#include <maso/inspect/cells.hpp>
#include <maso/maso.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

using namespace maso;

const auto net = input<1, 8, 8>() >> conv2d<4, 3>() >> batch_norm() >> hard_vq<relu>()
    >> maxpool<2>() >> flatten() >> dense<3>() >> softmax_cross_entropy();

int main() {
    auto model = instantiate(net, 16);
    model.set_mode(mode::evaluation);        // the batch norm's running statistics
    model.program().record_codes();          // buffers sized here: forward allocates nothing
    std::vector<float> images(16 * 64);
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = std::sin(0.37f * float(i));
    model.forward(images);                   // the fused kernels write the codes as they run

    const auto& codes = model.program().codes(); // one entry per node
    std::printf("ReLU unit (channel 0, image 0, pixel 9): region %zu\n", codes[3].region(0, 0, 9));
    std::printf("max-pooling window (channel 1, image 2, window 0): member %zu\n",
                codes[4].region(1, 2, 0));

    inspect::cell_counter cells(model.node_count);
    cells.add(codes, model.batch());
    std::printf("%zu images visit %zu cells of the ReLU layer and %zu of the network\n",
                cells.samples(), cells.distinct(3), cells.distinct());

    // Image 0's cell: logits = A x + b, A of 3 × 64, the batch norm folded in.
    const inspect::affine_map map = inspect::network_map(model, 0);
    const std::vector<double> x(images.begin(), images.begin() + 64);
    const std::vector<double> logits = map.apply(x);
    double sum = 0, error = 0;
    for (const double z : logits) sum += std::exp(z);
    for (std::size_t c = 0; c < 3; ++c) // the model's output: softmax of the logits
        error = std::max(error, std::abs(std::exp(logits[c]) / sum - model.output().data[c * 16]));
    std::printf("softmax(A x + b) against the model's output: %.1e\n", error);
    return error < 1e-5 ? 0 : 1;
}
// clang-format on
