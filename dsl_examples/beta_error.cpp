// A run-time error caught: maso::value_error from a β outside [0, 1] (docs/errors.md). ctest
// runs it.

#include <maso/maso.hpp>

#include <cstdio>

int main() {
    try {
        const auto b = maso::vq::beta::from_beta(1.5f);
        (void)b;
    } catch (const maso::value_error& e) {
        std::printf("%s\n", e.what()); // maso: beta = 1.500000 is outside [0, 1]
    }
}
