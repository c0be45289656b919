// maso E002: kernels compute in float or double.
#include <maso/vq/kernel.hpp>
#include <maso/vq/units/relu.hpp>

#include <vector>

int main() {
#ifdef MASO_COMPILE_FAIL
    using T = int;
#else
    using T = float;
#endif
    std::vector<T> z(4), y(4);
    maso::vq::forward(maso::simd::scalar_arch{}, maso::vq::hard_pass<maso::vq::relu, float>({}),
                      std::span<const T>(z), std::span<T>(y));
}
