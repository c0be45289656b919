// dsl_examples/orthogonality.cpp — the kernels of ortho/ around a model, as they can be used
// until dense and conv2d take the tag as their type argument (docs/orthogonality.md).
//
// One MLP, instantiated twice from the same seed, is trained for a few SGD steps on one
// random batch:
//   penalty   the loss is CE + λ·P(W) for the first dense layer's weight W (32 × 64): after
//             backward, penalty_kernel::add_gradient adds λ·∂P/∂W into that layer's gradient;
//   exact     the first layer computes with Q, the orthonormal-row factor of W = L·Q, and W is
//             what is trained: before forward, cholesky_qr_kernel::forward writes Q into the
//             layer's weight; after backward, the layer's weight gradient (∂L/∂Q) goes back
//             through cholesky_qr_kernel::backward into ∂L/∂W, and an SGD of its own updates W,
//             which the model does not hold.
// It prints the loss and the orthogonality defect max |cos(w_i, w_j)| of the layer's weight at
// every step, and exits with 1 if a loss is not finite or the exact path's rows are not
// orthonormal to 1e-5 (paper-spec §9.7).
#include <maso/maso.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace maso;

const auto mlp = input<64>() >> dense<32>() >> hard_vq<relu>() >> dense<10>() >>
                 softmax_cross_entropy();

int main() {
    constexpr std::size_t batch = 20, K = 32, D = 64, steps = 5;
    constexpr double lambda = 1.0; // the paper's penalty weight
    std::mt19937 rng(0);
    std::normal_distribution<float> pixel(0.f, 1.f);
    std::vector<float> images(batch * D);
    for (auto& v : images)
        v = pixel(rng);
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n)
        labels[n] = int(n % 10);
    bool ok = true;

    // ---- penalty: CE + λ·P(W) -------------------------------------------------------------
    {
        auto model = instantiate(mlp, batch, fuse::all, {.seed = 1});
        sgd opt(model, {.learning_rate = 0.05f});
        const std::span<float> w = model.parameters<1>().first(K * D); // W, then the bias
        const std::span<float> dw = model.gradients<1>().first(K * D);
        ortho::penalty_kernel<float> penalty(K, D); // P-a, the default
        std::printf("penalty: CE + %.1f * P(W), P = (1/K^2) ||W W^T - Diag||^2\n", lambda);
        for (std::size_t step = 0; step < steps; ++step) {
            model.zero_gradients();
            const float ce = model.forward(images, labels);
            model.backward();
            const double p = penalty.add_gradient(w, dw, lambda); // dw += λ ∂P/∂W
            std::printf("  step %zu: CE %.4f  P %.5f  loss %.4f  defect %.3f\n", step, ce, p,
                        ce + lambda * p, ortho::orthogonality_defect<float>(w, K, D));
            ok = ok && std::isfinite(ce) && std::isfinite(p);
            opt.step();
        }
    }

    // ---- exact: the layer uses Q of W = L·Q ------------------------------------------------
    {
        auto model = instantiate(mlp, batch, fuse::all, {.seed = 1});
        // The model's optimiser also steps the weight slot of layer 1, which holds Q and is
        // overwritten at the next forward; W has its own.
        sgd opt(model, {.learning_rate = 0.05f});
        const std::span<float> q = model.parameters<1>().first(K * D);
        const std::span<const float> dq = model.gradients<1>().first(K * D);
        std::vector<float> w(q.begin(), q.end()), dw(K * D); // W starts as the initial weight
        sgd opt_w(w, dw, {.learning_rate = 0.05f});
        ortho::cholesky_qr_kernel<float> qr(K, D);
        std::printf("exact: the layer computes with Q of W = L Q (ortho::cholesky_qr)\n");
        for (std::size_t step = 0; step < steps; ++step) {
            qr.forward(w, q); // the layer's weight is Q
            model.zero_gradients();
            const float ce = model.forward(images, labels);
            model.backward();
            std::fill(dw.begin(), dw.end(), 0.f);
            qr.backward(dq, dw); // dL/dW from dL/dQ
            const double defect = ortho::orthogonality_defect<float>(q, K, D);
            double worst_norm = 0;
            for (std::size_t k = 0; k < K; ++k) {
                double n = 0;
                for (std::size_t d = 0; d < D; ++d)
                    n += double(q[k * D + d]) * q[k * D + d];
                worst_norm = std::max(worst_norm, std::fabs(std::sqrt(n) - 1));
            }
            std::printf("  step %zu: CE %.4f  defect %.2e  max |row norm - 1| %.2e\n", step, ce,
                        defect, worst_norm);
            ok = ok && std::isfinite(ce) && defect <= 1e-5 && worst_norm <= 1e-5;
            opt.step();
            opt_w.step();
        }
    }
    std::printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
