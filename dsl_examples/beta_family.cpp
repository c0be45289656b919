// dsl_examples/beta_family.cpp — one unit, ReLU, and the family of nonlinearities β-VQ
// inference derives from it: y = z·σ(ηz), η = β/(1−β) (paper-spec §4.1, Prop. 3 and 7).
//
//   beta_family           the table, its self-checks, then ~0.3 s of timing on 1 Mi floats
//   beta_family --quick   the same with a few milliseconds of timing (what ctest runs)
//
// The table comes from maso's scalar reference (vq/derive.hpp) in double and is
// checked against the closed forms; the SIMD kernel (vq/kernel.hpp) is checked
// against the table in float. A disagreement exits 1, so the ctest can fail; the
// timings are printed, never judged.
#include <maso/maso.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using maso::vq::relu;
using native_arch = xsimd::default_arch;

constexpr std::array<double, 4> betas{0.0, 0.5, 0.9, 1.0};
constexpr std::array<double, 7> zs{-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0};

struct row {
    double y, dydz, dydbeta;
};

/// What maso computes, in double: the reference path every kernel is tested against.
row maso_row(maso::vq::basic_beta<double> b, double z) {
    const std::array<double, 1> x{z};
    if (b.is_hard()) {
        const auto g = maso::vq::hard_backward(relu{}, x, 1.0);
        return {maso::vq::hard_forward(relu{}, x), g.dx[0], 0.0};
    }
    const double eta = b.eta();
    const auto g = maso::vq::beta_backward(relu{}, x, eta, 1.0);
    return {maso::vq::beta_forward(relu{}, x, eta), g.dx[0], g.dbeta(eta)};
}

/// The same by hand: y = z σ(ηz), ∂y/∂z = σ + ηz σ(1−σ), ∂y/∂β = z² σ(1−σ) (1+η)²
/// since ∂y/∂η = z² σ(1−σ) and dη/dβ = 1/(1−β)² = (1+η)². β = 1 is ReLU with the
/// frameworks' tie rule ReLU'(0) = 0, and no β gradient.
row closed_form_row(double beta, double eta, double z) {
    if (beta == 1.0) return {z > 0 ? z : 0.0, z > 0 ? 1.0 : 0.0, 0.0};
    const double s = 1.0 / (1.0 + std::exp(-eta * z));
    return {z / (1.0 + std::exp(-eta * z)), s + eta * z * s * (1 - s),
            z * z * s * (1 - s) * (1 + eta) * (1 + eta)};
}

/// printf pads by bytes; β and η are two bytes in UTF-8 but one column on screen.
std::string pad(const std::string& s, std::size_t width) {
    std::size_t columns = 0;
    for (const char c : s)
        columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return std::string(width > columns ? width - columns : 0, ' ') + s;
}

const char* meaning(double beta) {
    if (beta == 0.0) return "β = 0   (η = 0): y = z/2, the linear mean of the regions 0 and z";
    if (beta == 0.5) return "β = ½   (η = 1): y = z·σ(z), the sigmoid-weighted linear unit (SiLU)";
    if (beta == 0.9) return "β = 0.9 (η = 9): y = z·σ(9z), swish with η = 9";
    return "β = 1   (η = ∞): y = max(z, 0), ReLU: hard VQ, ReLU'(0) = 0";
}

/// Prints the table and returns the number of entries that disagree with the
/// closed forms by more than 1e-12.
int print_and_check_table() {
    std::printf("maso β-VQ of ReLU: y = z·σ(ηz), η = β/(1−β); dy/dβ = ∂y/∂η · (1+η)²\n\n");
    for (const double beta : betas)
        std::printf("  %s\n", meaning(beta));
    std::printf("\n%s%s%s%s%s\n", pad("β", 5).c_str(), pad("z", 7).c_str(), pad("y", 15).c_str(),
                pad("dy/dz", 15).c_str(), pad("dy/dβ", 15).c_str());
    int failures = 0;
    for (const double beta : betas) {
        const auto b = maso::vq::basic_beta<double>::from_beta(beta);
        for (const double z : zs) {
            const row m = maso_row(b, z);
            const row c = closed_form_row(beta, b.eta(), z);
            std::printf("%5.1f%7.1f%15.9f%15.9f%15.6e\n", beta, z, m.y, m.dydz, m.dydbeta);
            const auto check = [&](const char* what, double got, double want) {
                if (std::abs(got - want) <= 1e-12) return;
                std::fprintf(stderr,
                             "beta_family: %s at β = %g, z = %g: maso gives %.17g, the closed "
                             "form %.17g\n",
                             what, beta, z, got, want);
                ++failures;
            };
            check("y", m.y, c.y);
            check("dy/dz", m.dydz, c.dydz);
            check("dy/dβ", m.dydbeta, c.dydbeta);
        }
        std::printf("\n");
    }
    return failures;
}

/// The float SIMD kernel against the double table: catches a kernel that drifted
/// from the reference, at the ISA this binary was built for.
int check_simd_kernel() {
    int failures = 0;
    const std::vector<float> z(zs.begin(), zs.end());
    const std::vector<float> dy(z.size(), 1.0f);
    std::vector<float> y(z.size()), dz(z.size());
    for (const double beta : betas) {
        const auto bf = maso::vq::beta::from_beta(static_cast<float>(beta));
        const auto bd = maso::vq::basic_beta<double>::from_beta(beta);
        maso::vq::beta_vq_forward(native_arch{}, relu{}, bf, std::span<const float>(z),
                                  std::span<float>(y));
        maso::vq::beta_vq_backward(native_arch{}, relu{}, bf, std::span<const float>(z),
                                   std::span<const float>(dy), std::span<float>(dz));
        for (std::size_t i = 0; i < z.size(); ++i) {
            const row ref = maso_row(bd, zs[i]);
            const double tol = 1e-5 * std::max(1.0, std::abs(ref.y));
            if (std::abs(y[i] - ref.y) > tol || std::abs(dz[i] - ref.dydz) > 1e-5) {
                std::fprintf(stderr,
                             "beta_family: the %s kernel at β = %g, z = %g gives y = %.9g, dy/dz "
                             "= %.9g; the reference %.9g, %.9g\n",
                             native_arch::name(), beta, zs[i], static_cast<double>(y[i]),
                             static_cast<double>(dz[i]), ref.y, ref.dydz);
                ++failures;
            }
        }
    }
    return failures;
}

// ---- the plain scalar loop the fused pass is compared with -------------------------------

// noinline keeps the baseline a plain loop over std::exp, as a user would write
// it, instead of letting the compiler specialise it on this file's constants.
[[gnu::noinline]] void scalar_forward(const float* z, float* y, std::size_t n, float eta) {
    for (std::size_t i = 0; i < n; ++i)
        y[i] = z[i] / (1.0f + std::exp(-eta * z[i]));
}

/// dz = dy (σ + ηz σ(1−σ)); returns Σ dy ∂y/∂θ = Σ dy ηz² σ(1−σ), the same sum
/// maso::vq::beta_vq_backward returns.
[[gnu::noinline]] float scalar_backward(const float* z, const float* dy, float* dz, std::size_t n,
                                        float eta) {
    float dtheta = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float s = 1.0f / (1.0f + std::exp(-eta * z[i]));
        const float g = eta * z[i] * s * (1.0f - s);
        dz[i] = dy[i] * (s + g);
        dtheta += dy[i] * z[i] * g;
    }
    return dtheta;
}

/// Keeps the compiler from dropping a repetition whose stores are overwritten by the next.
void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t h = v.size() / 2;
    return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

template <class F>
double time_ns(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count();
}

/// Returns non-zero if the fused pass and the scalar loop compute different things.
int time_forward_backward(bool quick) {
    const std::size_t n = quick ? std::size_t{1} << 14 : std::size_t{1} << 20;
    const int repetitions = quick ? 3 : 21;
    std::mt19937 gen(20240611u);
    std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
    std::vector<float> z(n), dy(n);
    for (auto& v : z)
        v = dist(gen);
    for (auto& v : dy)
        v = dist(gen);
    std::vector<float> y_maso(n), dz_maso(n), y_loop(n), dz_loop(n);
    const auto b = maso::vq::beta::from_beta(0.9f);
    const float eta = b.eta();
    float dtheta_maso = 0, dtheta_loop = 0;

    const auto maso_pass = [&] {
        maso::vq::beta_vq_forward(native_arch{}, relu{}, b, std::span<const float>(z),
                                  std::span<float>(y_maso));
        dtheta_maso =
            maso::vq::beta_vq_backward(native_arch{}, relu{}, b, std::span<const float>(z),
                                       std::span<const float>(dy), std::span<float>(dz_maso));
        escape(y_maso.data());
        escape(dz_maso.data());
    };
    const auto loop_pass = [&] {
        scalar_forward(z.data(), y_loop.data(), n, eta);
        dtheta_loop = scalar_backward(z.data(), dy.data(), dz_loop.data(), n, eta);
        escape(y_loop.data());
        escape(dz_loop.data());
    };
    // Interleaved, so that a neighbour's burst on the shared machine slows both sides.
    std::vector<double> maso_ns, loop_ns;
    for (int r = 0; r < repetitions; ++r) {
        maso_ns.push_back(time_ns(maso_pass));
        loop_ns.push_back(time_ns(loop_pass));
    }

    int failures = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::abs(y_maso[i] - y_loop[i]) > 1e-5f * std::max(1.0f, std::abs(y_loop[i])) ||
            std::abs(dz_maso[i] - dz_loop[i]) > 1e-4f * std::max(1.0f, std::abs(dz_loop[i]))) {
            if (failures++ < 5)
                std::fprintf(stderr,
                             "beta_family: at z = %.9g, dy = %.9g the fused pass gives y = %.9g, "
                             "dz = %.9g; the scalar loop %.9g, %.9g\n",
                             static_cast<double>(z[i]), static_cast<double>(dy[i]),
                             static_cast<double>(y_maso[i]), static_cast<double>(dz_maso[i]),
                             static_cast<double>(y_loop[i]), static_cast<double>(dz_loop[i]));
        }
    }

    const double maso_rate = static_cast<double>(n) / median(maso_ns);
    const double loop_rate = static_cast<double>(n) / median(loop_ns);
    std::printf("Forward + backward with learnable β = 0.9 (η = 9) on %zu floats, median of %d "
                "interleaved runs%s:\n",
                n, repetitions, quick ? " (--quick: too short to mean much)" : "");
    const std::string maso_label =
        std::string("maso fused SIMD pass (") + native_arch::name() + ")";
    std::printf("  %-34s %8.3f elements/ns   dθ sum %.6g\n", maso_label.c_str(), maso_rate,
                static_cast<double>(dtheta_maso));
    std::printf("  %-34s %8.3f elements/ns   dθ sum %.6g\n", "plain scalar std::exp loop",
                loop_rate, static_cast<double>(dtheta_loop));
    std::printf("  %-34s %8.1f×\n", "ratio", maso_rate / loop_rate);
    return failures;
}

int usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: beta_family [--quick]\n"
                 "  prints the β-VQ ReLU family (β = 0, ½, 0.9, 1), checks it against the\n"
                 "  closed forms, and times the fused SIMD forward+backward pass against a\n"
                 "  plain scalar std::exp loop; --quick shortens the timing to milliseconds\n");
    return out == stdout ? 0 : 2;
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0)
            return usage(stdout);
        else {
            std::fprintf(stderr, "beta_family: unknown argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }

    int failures = print_and_check_table();
    failures += check_simd_kernel();
    failures += time_forward_backward(quick);
    if (failures != 0) {
        std::fprintf(stderr, "beta_family: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("\nAll checks passed: the table matches the closed forms to 1e-12, the %s kernel "
                "matches it in float.\n",
                native_arch::name());
    return 0;
}
