// maso E024: Gram–Schmidt (or CholeskyQR) on W[K][D] with K > D: largeCNN's first layer,
// 96 filters of 3×3×3 = 27 inputs, cannot have orthogonal filters; a penalty can pull it.
// One error, at the `>>` that appends the layer, naming K = 96 and D = 27.
#include <maso/expr/chain.hpp>
#include <maso/layers/batch_norm.hpp>
#include <maso/layers/conv2d.hpp>
#include <maso/layers/input.hpp>

using namespace maso;

int main() {
#ifdef MASO_COMPILE_FAIL
    // docs/orthogonality.md quotes the line of the error as it is:
    // clang-format off
    auto net =
        input<3, 32, 32>() >> conv2d<96, 3, ortho::gram_schmidt<>>()   // E024 at this line
        >> batch_norm() >> conv2d<96, 3, ortho::gram_schmidt<>>();
    // clang-format on
#else
    auto net = input<3, 32, 32>() >> conv2d<96, 3, ortho::penalty<>>() >> batch_norm() >>
               conv2d<96, 3, ortho::gram_schmidt<>>(); // the second layer: D = 96·9 = 864
#endif
    return int(decltype(net)::size) - 4;
}
