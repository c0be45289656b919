// dsl_examples/orthogonality.cpp — orthogonality constraints as a layer's type argument
// (docs/orthogonality.md).
//
// 1. largeCNN with the paper's Table 2 "Ortho" penalty on its first layer, whose 96 filters of
//    3×3×3 = 27 cannot be orthogonal (Gram–Schmidt there is error E024), and Gram–Schmidt on
//    the next one (96 filters of 864): conv_bn_swish takes the tag through. It prints the plan's
//    orthogonality lines and the metrics after one training step at batch 2.
// 2. One MLP trained for 20 SGD steps under each path — the penalty, the authors' classical
//    Gram–Schmidt, CGS2 and CholeskyQR2 — printing the loss (CE + λ·P for the penalty) and the
//    orthogonality defect max |cos| between the rows the layer computes with. It exits with 1
//    if a loss is not finite or an exact path's rows are not orthogonal to 1e-5 (paper-spec §9.7).
#include "large_cnn.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace maso;
using maso_examples::conv_bn_swish;

// [ortho_layers]
const auto large_cnn_ortho = input<3, 32, 32>()
    >> conv_bn_swish<96, 3, 1, padding::same, ortho::penalty<>>()      // 96 > 27: the penalty
    >> conv_bn_swish<96, 3, 1, padding::same, ortho::gram_schmidt<>>() // 96 ≤ 864: exact
    >> conv_bn_swish<96, 3, 2>()
    >> conv_bn_swish<192, 3>() >> conv_bn_swish<192, 3>() >> conv_bn_swish<192, 3, 2>()
    >> conv_bn_swish<192, 3, 1, padding::valid>() >> conv_bn_swish<192, 1>()
    >> conv2d<10, 1>() >> global_avgpool() >> softmax_cross_entropy();
// [ortho_layers]

template <class Tag>
auto mlp(Tag tag = {}) {
    return input<64>() >> dense<32, Tag>(tag) >> hard_vq<relu>() >> dense<10>() >>
           softmax_cross_entropy();
}

bool print_metrics(auto& model) {
    bool ok = true;
    for (const orthogonality_metric& r : orthogonality_metrics(model)) {
        std::printf("    node %zu %s: P %.3g, max |cos| %.2e\n", r.node, r.constraint.c_str(),
                    r.penalty, r.defect);
        ok = ok && std::isfinite(r.penalty) && std::isfinite(r.defect);
    }
    return ok;
}

template <class Tag>
bool train_mlp(const char* what, Tag tag = {}) {
    constexpr std::size_t batch = 20, steps = 20;
    const std::vector<float> images = [] {
        std::vector<float> x(batch * 64);
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = std::sin(0.37f * float(i)) + 0.1f * float(i % 7);
        return x;
    }();
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n)
        labels[n] = int(n % 10);
    bool ok = true;
    // [ortho_step]
    auto model = instantiate(mlp(tag), batch, fuse::all, {.seed = 1});
    sgd opt(model, {.learning_rate = 0.05f});
    for (std::size_t step = 0; step < steps; ++step) {
        model.zero_gradients();
        const float loss = model.forward(images, labels); // CE, + λ·P(W) under a penalty
        model.backward(); // dW through GS (or + λ·∂P/∂W), once per step
        opt.step();
        const orthogonality_metric m = orthogonality_metrics(model).at(0);
        // [ortho_step]
        if (step % 5 == 0 || step + 1 == steps)
            std::printf("  %s step %2zu: loss %.4f  P %.3g  max |cos| %.2e\n", what, step, loss,
                        m.penalty, m.defect);
        ok = ok && std::isfinite(loss);
        if constexpr (ortho::traits<Tag>::reparametrises) ok = ok && m.defect <= 1e-5;
    }
    return ok;
}

int main() {
    bool ok = true;
    // 1. largeCNN with a penalty and Gram–Schmidt
    std::istringstream plan(describe(large_cnn_ortho));
    for (std::string line; std::getline(plan, line);)
        if (line.find("kernel 0:") != std::string::npos ||
            line.find("kernel 1:") != std::string::npos ||
            line.find("ortho:") != std::string::npos)
            std::cout << line << '\n';
    {
        constexpr std::size_t batch = 2;
        auto model = instantiate(large_cnn_ortho, batch);
        std::vector<float> images(batch * 3 * 32 * 32);
        for (std::size_t i = 0; i < images.size(); ++i)
            images[i] = std::cos(0.01f * float(i));
        const std::vector<int> labels{3, 7};
        sgd opt(model, {.learning_rate = 0.01f});
        const float loss = model.forward(images, labels);
        model.backward();
        opt.step();
        std::printf("largeCNN, one step: loss %.4f (CE + λ·P of node 1)\n", loss);
        ok = ok && std::isfinite(loss) && print_metrics(model);
    }
    // 2. every path on an MLP
    ok = train_mlp("penalty     ", ortho::penalty<>{.lambda = 1}) && ok;
    ok = train_mlp<ortho::gram_schmidt<>>("classical GS") && ok;
    ok = train_mlp<ortho::gram_schmidt<ortho::gs_form::cgs2>>("CGS2        ") && ok;
    ok = train_mlp<ortho::cholesky_qr>("CholeskyQR2 ") && ok;
    std::printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
