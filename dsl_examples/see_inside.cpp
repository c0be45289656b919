// dsl_examples/see_inside.cpp — every picture of docs/inspect.md, from one command:
//
//   build/dsl_examples/see_inside --out docs/img [--data DIR] [--quick]
//
// 1. figure1.png: Figure 1 of the paper (paper-spec §8), the β-VQ ReLU, absolute value and
//    leaky ReLU for β ∈ {0.1, 0.5, 0.9}, with their derivatives, from maso's own passes
//    (vq/elementwise.hpp): plotted by gnuplot.
// 2. partition.png: a small MLP trained on a 2-D toy problem (two interleaved half-moons):
//    its input-space partition, each hard cell coloured by its code (the hash of every unit's
//    region, inspect/cells.hpp); partition_beta.png: the same weights with β-VQ units for
//    β ∈ {0.5, 0.9, 0.99}, each cell shaded by how far the point is from a soft boundary
//    (the smallest |2p − 1| over the units' recorded posteriors). Raw images, written by
//    stb_image_write (Debian's libstb-dev).
// 3. cells_vs_beta.png: an MLP 784-32-16-8-10 trained on Fashion-MNIST once per β (β-VQ ReLU,
//    β = 1 the hard ReLU), then the distinct cells of each layer, and of the network, that
//    the 10,000 test images visit: plotted by gnuplot (a log scale).
//
// The codes come from the fused forward pass (program::record_codes). --quick (ctest) draws
// small grids and trains on 2,000 images; docs/img holds the full run's pictures. gnuplot
// (Debian's gnuplot-nox) must be on the PATH.
#include <maso/inspect/cells.hpp>
#include <maso/io.hpp>
#include <maso/maso.hpp>

// The one translation unit that holds stb_image_write's code (it is a single-file library).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h> // getpid: a working directory of its own

using namespace maso;
namespace fs = std::filesystem;

namespace {

// ---- gnuplot -------------------------------------------------------------------------

/// Runs gnuplot on a script written next to the data; throws if it fails.
void gnuplot(const fs::path& script) {
    const std::string cmd = "gnuplot '" + script.string() + "'";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("see_inside: " + cmd + " failed");
}

// ---- 1. Figure 1 ---------------------------------------------------------------------

template <class U>
void curves(const fs::path& file, const U& unit) {
    std::ofstream f(file);
    f << "# x, then y and dy/dx for beta = 0.1, 0.5, 0.9, then the hard unit\n";
    for (int i = 0; i <= 400; ++i) {
        const double x = -4 + 8.0 * i / 400;
        f << x;
        for (const double b : {0.1, 0.5, 0.9}) {
            const vq::beta_pass<U, double> p(unit, vq::basic_beta<double>::from_beta(b));
            double dtheta = 0;
            f << ' ' << p.forward(x) << ' ' << p.backward(x, 1.0, dtheta);
        }
        const vq::hard_pass<U, double> h(unit);
        double unused = 0;
        f << ' ' << h.forward(x) << ' ' << h.backward(x, 1.0, unused) << '\n';
    }
}

void figure1(const fs::path& out, const fs::path& work) {
    curves(work / "relu.dat", vq::relu{});
    curves(work / "absolute.dat", vq::absolute{});
    curves(work / "leaky.dat", vq::leaky_relu{0.1});
    std::ofstream g(work / "figure1.gp");
    g << "set terminal pngcairo size 1500,900 font ',13'\n"
      << "set output '" << (out / "figure1.png").string() << "'\n"
      << "set multiplot layout 2,3 title 'beta-VQ units (paper Figure 1): values (top), "
         "derivatives (bottom)'\n"
      << "set grid; set xrange [-4:4]\n"
      << "s = \"lw 2 lc rgb '#1a9641' title 'beta = 0.1', '' using 1:C+2 with lines lw 2 lc "
         "rgb '#2c7bb6' title 'beta = 0.5', '' using 1:C+4 with lines lw 2 lc rgb 'black' "
         "title 'beta = 0.9', '' using 1:C+6 with lines dt 2 lw 1 lc rgb 'gray40' title "
         "'hard (beta = 1)'\"\n";
    // Where each panel has room for its key: below the curves, or above the kink.
    const char* names[3][3] = {{"relu.dat", "ReLU: z sigma(eta z)", "bottom right"},
                               {"absolute.dat", "absolute value: z tanh(eta z)", "top center"},
                               {"leaky.dat", "leaky ReLU, a = 0.1", "bottom right"}};
    for (int row = 0; row < 2; ++row)
        for (const auto& n : names) {
            const int c = row == 0 ? 2 : 3; // y in column 2, dy/dx in 3 (then every 2)
            g << "set title '" << n[1] << (row == 0 ? "" : ": derivative") << "'\n"
              << "set key " << (row == 0 ? n[2] : "bottom right") << "\n"
              << "C = " << c << "\n"
              << "plot '" << (work / n[0]).string() << "' using 1:C with lines @s\n";
        }
    g << "unset multiplot\n";
    g.close();
    gnuplot(work / "figure1.gp");
}

// ---- 2. the partition of a 2-D toy problem ----------------------------------------------

/// Two interleaved half-moons with noise: class 0 the upper, class 1 the lower.
void moons(std::size_t n, std::mt19937& rng, std::vector<float>& x, std::vector<int>& y) {
    std::uniform_real_distribution<double> t(0, 3.14159265358979);
    std::normal_distribution<double> noise(0, 0.12);
    x.resize(2 * n);
    y.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const int c = int(i % 2);
        const double a = t(rng);
        const double px = c == 0 ? std::cos(a) : 1 - std::cos(a);
        const double py = c == 0 ? std::sin(a) : 0.5 - std::sin(a);
        x[2 * i] = float(px - 0.5 + noise(rng));
        x[2 * i + 1] = float(py - 0.25 + noise(rng));
        y[i] = c;
    }
}

template <class U>
auto toy_net(U unit) {
    return input<2>() >> dense<12>() >> unit >> dense<12>() >> unit >> dense<2>() >>
           softmax_cross_entropy();
}

/// A code's colour: a light, saturated hue from its hash.
std::array<double, 3> colour_of(std::uint64_t h) {
    const double hue = double(h % 360) / 60, s = 0.45 + 0.3 * double((h >> 12) % 100) / 100;
    const double v = 0.8 + 0.2 * double((h >> 24) % 100) / 100;
    const double f = hue - std::floor(hue), p = v * (1 - s), q = v * (1 - s * f),
                 t = v * (1 - s * (1 - f));
    switch (int(hue) % 6) {
    case 0:
        return {v, t, p};
    case 1:
        return {q, v, p};
    case 2:
        return {p, v, t};
    case 3:
        return {p, q, v};
    case 4:
        return {t, p, v};
    default:
        return {v, p, q};
    }
}

struct canvas {
    std::size_t w, h;
    std::vector<unsigned char> rgb;
    canvas(std::size_t width, std::size_t height) : w(width), h(height), rgb(3 * w * h, 255) {}
    void set(std::size_t x, std::size_t y, std::array<double, 3> c) {
        for (int k = 0; k < 3; ++k)
            rgb[3 * (y * w + x) + k] = (unsigned char)std::lround(255 * std::clamp(c[k], 0., 1.));
    }
    void dot(double px, double py, std::array<double, 3> c, int r) {
        for (int dy = -r; dy <= r; ++dy)
            for (int dx = -r; dx <= r; ++dx)
                if (dx * dx + dy * dy <= r * r) {
                    const long x = std::lround(px) + dx, y = std::lround(py) + dy;
                    if (x >= 0 && y >= 0 && std::size_t(x) < w && std::size_t(y) < h)
                        set(std::size_t(x), std::size_t(y), c);
                }
    }
    /// Pastes c at (x0, y0).
    void paste(const canvas& c, std::size_t x0, std::size_t y0) {
        for (std::size_t y = 0; y < c.h; ++y)
            std::copy_n(c.rgb.begin() + 3 * y * c.w, 3 * c.w,
                        rgb.begin() + 3 * ((y0 + y) * w + x0));
    }
    void write(const fs::path& file) const {
        if (!stbi_write_png(file.string().c_str(), int(w), int(h), 3, rgb.data(), int(3 * w)))
            throw std::runtime_error("see_inside: could not write " + file.string());
    }
};

constexpr double x_lo = -2.0, x_hi = 2.5, y_lo = -1.5, y_hi = 1.5;

/// The plane's grid, a row per forward: each pixel coloured by its cell and shaded by `shade`
/// (1 for the hard network); the training points on top.
template <class Model>
canvas draw_partition(Model& m, std::size_t side, bool soft, const std::vector<float>& px,
                      const std::vector<int>& py) {
    const std::size_t W = side, H = side * 2 / 3;
    canvas c(W, H);
    m.set_mode(mode::evaluation);
    m.program().record_codes(true, soft);
    std::vector<float> row(2 * W);
    for (std::size_t y = 0; y < H; ++y) {
        for (std::size_t x = 0; x < W; ++x) {
            row[2 * x] = float(x_lo + (x_hi - x_lo) * (x + 0.5) / W);
            row[2 * x + 1] = float(y_hi - (y_hi - y_lo) * (y + 0.5) / H);
        }
        m.forward(row);
        const auto& codes = m.program().codes();
        for (std::size_t x = 0; x < W; ++x) {
            auto col = colour_of(inspect::network_cell(codes, x));
            if (soft) { // the nearest soft boundary: the smallest |2p − 1| of any unit
                double nearest = 1;
                for (const auto& node : codes)
                    if (node.posteriors)
                        for (std::size_t u = 0; u < node.channels; ++u)
                            nearest = std::min(
                                nearest, std::abs(2 * double(node.posterior(u, x, 0, 1)) - 1));
                for (double& k : col)
                    k *= 0.25 + 0.75 * nearest;
            }
            c.set(x, y, col);
        }
    }
    for (std::size_t i = 0; i < py.size(); ++i) {
        const double X = (px[2 * i] - x_lo) / (x_hi - x_lo) * W,
                     Y = (y_hi - px[2 * i + 1]) / (y_hi - y_lo) * H;
        c.dot(X, Y, py[i] ? std::array<double, 3>{1, 1, 1} : std::array<double, 3>{0, 0, 0}, 2);
    }
    return c;
}

void partition(const fs::path& out, bool quick) {
    std::mt19937 rng(7);
    std::vector<float> x;
    std::vector<int> y;
    constexpr std::size_t n = 400, batch = 50;
    moons(n, rng, x, y);
    const auto hard = toy_net(hard_vq<relu>());
    auto m = instantiate(hard, batch, fuse::all, {.seed = 3});
    adam opt(m, {.learning_rate = 1e-2});
    const std::size_t steps = quick ? 200 : 3000;
    std::vector<float> bx(2 * batch);
    std::vector<int> by(batch);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    float loss = 0;
    for (std::size_t s = 0; s < steps; ++s) {
        for (std::size_t b = 0; b < batch; ++b) {
            const std::size_t i = pick(rng);
            bx[2 * b] = x[2 * i];
            bx[2 * b + 1] = x[2 * i + 1];
            by[b] = y[i];
        }
        m.zero_gradients();
        loss = m.forward(bx, by);
        m.backward();
        opt.step();
    }
    std::printf("see_inside: the toy MLP 2-12-12-2 (hard ReLU), %zu Adam steps of %zu points: "
                "last loss %.3f\n",
                steps, batch, double(loss));
    const std::size_t side = quick ? 120 : 600;
    auto grid = instantiate(hard, side);
    std::copy(m.parameters().begin(), m.parameters().end(), grid.parameters().begin());
    draw_partition(grid, side, false, x, y).write(out / "partition.png");

    // The same weights with β-VQ units, side by side: β = 0.5, 0.9, 0.99.
    const std::size_t gap = 8, H = side * 2 / 3;
    canvas all(3 * side + 2 * gap, H);
    std::size_t k = 0;
    for (const float b : {0.5f, 0.9f, 0.99f}) {
        const auto soft = toy_net(beta_vq<relu>(b));
        auto s = instantiate(soft, side);
        std::copy(m.parameters().begin(), m.parameters().end(), s.parameters().begin());
        all.paste(draw_partition(s, side, true, x, y), k++ * (side + gap), 0);
    }
    all.write(out / "partition_beta.png");
}

// ---- 3. distinct cells against β on Fashion-MNIST ---------------------------------------

template <class U>
auto fashion_net(U unit) {
    return input<1, 28, 28>() >> flatten() >> dense<32>() >> unit >> dense<16>() >> unit >>
           dense<8>() >> unit >> dense<10>() >> softmax_cross_entropy();
}

io::dataset first(const io::dataset& d, std::size_t n) {
    const std::size_t size = d.shape().size();
    return io::dataset(std::vector<float>(d.images().begin(), d.images().begin() + n * size),
                       std::vector<int>(d.labels().begin(), d.labels().begin() + n), d.shape(),
                       d.classes(), d.name());
}

struct cell_counts {
    double beta, accuracy;
    std::size_t layer[3], network;
};

template <class Net>
cell_counts count_cells(const Net& net, double beta, const io::dataset& train,
                        const io::dataset& test, std::size_t epochs) {
    constexpr std::size_t batch = 100;
    auto m = instantiate(net, batch, fuse::all, {.seed = 1});
    adam opt(m, {.learning_rate = 2e-3});
    trainer t(m, opt, train, test,
              {.epochs = epochs, .seed = 1, .progress = {.style = progress_style::none}});
    const train_result r = t.fit();
    // Every test image once, the last batch padded with the first images (not counted).
    m.set_mode(mode::evaluation);
    m.program().record_codes();
    inspect::cell_counter cells(m.node_count);
    const std::size_t size = test.shape().size();
    std::vector<float> images(batch * size);
    for (std::size_t n0 = 0; n0 < test.size(); n0 += batch) {
        const std::size_t k = std::min(batch, test.size() - n0);
        std::copy_n(test.images().begin() + n0 * size, k * size, images.begin());
        m.forward(images);
        cells.add(m.program().codes(), k);
    }
    // Nodes 3, 5 and 7 are the units after each hidden dense layer.
    return {beta,
            r.epochs.back().test_accuracy,
            {cells.distinct(3), cells.distinct(5), cells.distinct(7)},
            cells.distinct()};
}

void cells_vs_beta(const fs::path& out, const fs::path& work, const fs::path& data, bool quick) {
    auto [train, test] = io::load_mnist(data);
    const io::channel_statistics stats = io::channel_statistics_of(train);
    io::standardise(train, stats);
    io::standardise(test, stats);
    if (quick) {
        train = first(train, 2000);
        test = first(test, 1000);
    }
    const std::size_t epochs = quick ? 1 : 3;
    std::vector<cell_counts> rows;
    const auto start = std::chrono::steady_clock::now();
    for (const float b : {0.1f, 0.3f, 0.5f, 0.7f, 0.9f})
        rows.push_back(count_cells(fashion_net(beta_vq<relu>(b)), b, train, test, epochs));
    rows.push_back(count_cells(fashion_net(hard_vq<relu>()), 1.0, train, test, epochs));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ofstream f(work / "cells.dat");
    f << "# beta, test accuracy, distinct cells of layers 1-3 (32, 16, 8 units), network\n";
    std::printf("see_inside: MLP 784-32-16-8-10 on Fashion-MNIST, %zu epochs of %zu images per "
                "beta (%.0f s for all six), distinct cells of the %zu test images:\n",
                epochs, train.size(), seconds, test.size());
    for (const auto& r : rows) {
        f << r.beta << ' ' << r.accuracy << ' ' << r.layer[0] << ' ' << r.layer[1] << ' '
          << r.layer[2] << ' ' << r.network << '\n';
        std::printf("  beta %.1f: accuracy %.2f%%, cells %zu, %zu, %zu, network %zu\n", r.beta,
                    100 * r.accuracy, r.layer[0], r.layer[1], r.layer[2], r.network);
    }
    f.close();
    std::ofstream g(work / "cells.gp");
    g << "set terminal pngcairo size 1000,650 font ',13'\n"
      << "set output '" << (out / "cells_vs_beta.png").string() << "'\n"
      << "set title 'Fashion-MNIST: distinct cells the " << test.size()
      << " test images visit (MLP 784-32-16-8-10)'\n"
      << "set xlabel 'beta (1 = hard ReLU)'; set ylabel 'distinct cells'\n"
      << "set logscale y; set grid; set key bottom right; set xrange [0:1.05]\n"
      << "set yrange [1:" << 2 * test.size() << "]\n"
      << "d = '" << (work / "cells.dat").string() << "'\n"
      << "plot d using 1:6 with linespoints lw 2 pt 7 lc rgb 'black' title 'whole network', "
         "d using 1:3 with linespoints lw 2 pt 5 lc rgb '#d7191c' title 'layer 1 (32 units)', "
         "d using 1:4 with linespoints lw 2 pt 9 lc rgb '#2c7bb6' title 'layer 2 (16 units)', "
         "d using 1:5 with linespoints lw 2 pt 11 lc rgb '#1a9641' title 'layer 3 (8 units)', "
      << test.size() << " with lines dt 2 lc rgb 'gray50' title 'number of images'\n";
    g.close();
    gnuplot(work / "cells.gp");
}

} // namespace

int main(int argc, char** argv) {
    fs::path out = "docs/img", data = "/usr/share/datasets/fashion-mnist";
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick"))
            quick = true;
        else if (!std::strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!std::strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--out DIR] [--data DIR] [--quick]\n", argv[0]);
            return 2;
        }
    }
    try {
        fs::create_directories(out);
        // gnuplot's scripts and data, beside the pictures' directory, not in it.
        const fs::path work =
            fs::temp_directory_path() / ("see_inside." + std::to_string(::getpid()));
        fs::create_directories(work);
        figure1(out, work);
        partition(out, quick);
        cells_vs_beta(out, work, data, quick);
        fs::remove_all(work);
        std::printf("see_inside: figure1.png, partition.png, partition_beta.png and "
                    "cells_vs_beta.png in %s\n",
                    out.string().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
