// An outside project using an installed maso: swish at β = ½ must be SiLU.
#include <maso/maso.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    std::vector<float> z{-2.f, -0.5f, 0.f, 0.5f, 2.f}, y(z.size());
    maso::vq::beta_vq_forward(maso::simd::scalar_arch{}, maso::vq::relu{},
                              maso::vq::beta::from_beta(0.5f), std::span<const float>(z),
                              std::span<float>(y));
    for (std::size_t i = 0; i < z.size(); ++i) {
        const float silu = z[i] / (1.f + std::exp(-z[i]));
        if (std::fabs(y[i] - silu) > 1e-6f) {
            std::printf("consumer: y(%g) = %g, expected SiLU %g\n", z[i], y[i], silu);
            return 1;
        }
    }
    std::printf("consumer: maso %d.%d.%d found and working\n", maso::version_major,
                maso::version_minor, maso::version_patch);
    return 0;
}
