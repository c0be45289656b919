// An outside project using an installed maso::io: zlib is found through
// masoConfig.cmake and linked, a data set is normalised, and a missing data
// directory raises maso::file_error.
#include <maso/io.hpp>

#include <cstdio>

int main() {
    maso::io::dataset d({0.f, 2.f, 4.f, 6.f}, {0}, {1, 2, 2}, 1, "tiny");
    maso::io::centre_and_scale(d); // mean 3, peak 3: -1, -1/3, 1/3, 1
    if (d.images()[0] != -1.f || d.images()[3] != 1.f) {
        std::printf("io_consumer: centre_and_scale gave %g .. %g\n", d.images()[0], d.images()[3]);
        return 1;
    }
    try {
        maso::io::load_mnist("/nonexistent/maso-io-consumer");
        std::printf("io_consumer: loading a missing directory did not throw\n");
        return 1;
    } catch (const maso::file_error& e) {
        std::printf("io_consumer: maso::io found and working (%s)\n", e.what());
    }
    return 0;
}
