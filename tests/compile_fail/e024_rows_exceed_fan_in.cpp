// maso E024: Gram–Schmidt (or CholeskyQR) on W[K][D] with K > D: largeCNN's first layer,
// 96 filters of 3×3×3 = 27 inputs, cannot have orthogonal filters; a penalty can pull it.
#include <maso/ortho/check_shape.hpp>

namespace ortho = maso::ortho;

int main() {
#ifdef MASO_COMPILE_FAIL
    constexpr bool ok = ortho::check_shape<ortho::gram_schmidt<>, 96, 3 * 3 * 3>();
#else
    constexpr bool ok = ortho::check_shape<ortho::penalty<>, 96, 3 * 3 * 3>();
#endif
    return ok ? 0 : 1;
}
