// maso E003: the elementwise kernels have closed forms for two-region units only.
#include <maso/vq/elementwise.hpp>
#include <maso/vq/units/relu.hpp>

#include <cstddef>

// An elementwise unit with three slopes: the generic derivation handles it, the
// two-region SIMD closed form cannot.
struct three_slopes {
    static constexpr std::size_t inputs = 1;
    static constexpr std::size_t regions = 3;
    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return T(r) - 1;
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }
};

int main() {
#ifdef MASO_COMPILE_FAIL
    maso::vq::hard_pass<three_slopes, float> pass{three_slopes{}};
#else
    maso::vq::hard_pass<maso::vq::relu, float> pass{maso::vq::relu{}};
#endif
    return pass.forward(1.f) == 1.f ? 0 : 1;
}
