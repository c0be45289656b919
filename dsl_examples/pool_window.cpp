// One 2×2 pooling window pooled three ways, hard, soft and mean, with the window_max unit of
// vq/ (docs/design.md, the spline-unit core). ctest runs it.

#include <maso/maso.hpp>

#include <array>
#include <cstdio>

int main() {
    namespace vq = maso::vq;
    const std::array<double, 4> v{1.0, 3.0, 3.0, -2.0}; // one 2×2 pooling window
    const vq::window_max<4> pool;
    const double hard = vq::hard_forward(pool, v);       // 3: max pooling
    const double soft = vq::beta_forward(pool, v, 1.0);  // η = 1: softmax pooling
    const double mean = vq::beta_forward(pool, v, 0.0);  // η = 0: average pooling, 1.25
    const auto g = vq::beta_backward(pool, v, 1.0, 1.0); // g.dx[j], g.deta, g.dtheta
    const auto p = vq::soft_forward(pool, v, 1.0);       // the posterior softmax(η v)
    std::printf("%g %g %g %g %g %g\n", hard, soft, mean, g.dx[1], g.deta, p[1]);
}
