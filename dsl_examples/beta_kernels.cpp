// The β-VQ array kernels of vq/kernel.hpp on a std::vector: forward, backward with the θ
// gradient reduced in the same pass, and one gradient step on θ (docs/design.md). ctest runs it.

#include <maso/maso.hpp>

#include <span>
#include <vector>

int main() {
    namespace vq = maso::vq;
    std::vector<float> z(1000, 0.5f), y(z.size()), dy(z.size(), 1.f), dz(z.size());
    auto b = vq::beta::from_beta(0.9f);      // η = 9: y = z·σ(9z)
    const auto arch = xsimd::default_arch{}; // the widest ISA this file is compiled for

    vq::beta_vq_forward(arch, vq::relu{}, b, std::span<const float>(z), std::span<float>(y));
    const float dtheta = vq::beta_vq_backward(arch, vq::relu{}, b, std::span<const float>(z),
                                              std::span<const float>(dy), std::span<float>(dz));
    b.theta -= 0.01f * dtheta; // a gradient step on the stored parameter θ
}
