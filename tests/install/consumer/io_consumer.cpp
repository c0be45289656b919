// An outside project using an installed maso::io: zlib and nlohmann-json are found
// through masoConfig.cmake, a data set is normalised, a missing data directory raises
// maso::file_error, and a safetensors file round-trips.
#include <maso/io.hpp>

#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

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
    const auto path = std::filesystem::temp_directory_path() / "maso-io-consumer.safetensors";
    std::vector<float> w{1.5f, -2.f}, back(2);
    maso::io::safetensors_writer out;
    out.add("w", {2}, std::span<const float>(w));
    out.write(path);
    const auto in = maso::io::read_safetensors(path);
    in.read(*in.find("w"), std::span<float>(back));
    std::filesystem::remove(path);
    if (back != w) {
        std::printf("io_consumer: a safetensors round trip changed the values\n");
        return 1;
    }
    return 0;
}
