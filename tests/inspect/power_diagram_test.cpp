// Tests of include/maso/inspect/power_diagram.hpp: Corollary 2 — a unit's regions are the
// cells of the power diagram of its GMM's means A_r with weights 2B_r + ‖A_r‖², for random
// max-affine units in the plane (R = 2, 3, 5) and for maso's units after an affine row.
#include <maso/inspect/power_diagram.hpp>
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <vector>

using namespace maso;

namespace {

/// Random sites and sampled points: the region the unit picks (vq::hard_region of
/// z_r = <A_r, x> + B_r) is the power cell of x.
void check_random_units(std::size_t R) {
    std::mt19937_64 rng(R);
    std::normal_distribution<double> n(0, 1);
    std::uniform_real_distribution<double> u(-3, 3);
    for (int unit = 0; unit < 20; ++unit) {
        std::vector<std::vector<double>> a(R, std::vector<double>(2));
        std::vector<double> b(R);
        std::vector<inspect::power_site> sites;
        for (std::size_t r = 0; r < R; ++r) {
            a[r] = {n(rng), n(rng)};
            b[r] = n(rng);
            sites.push_back(inspect::site_of(a[r], b[r]));
        }
        std::size_t agree = 0, points = 2000;
        std::vector<bool> seen(R);
        for (std::size_t i = 0; i < points; ++i) {
            const std::vector<double> x{u(rng), u(rng)};
            std::vector<double> z(R);
            for (std::size_t r = 0; r < R; ++r)
                z[r] = a[r][0] * x[0] + a[r][1] * x[1] + b[r];
            const std::size_t region = vq::hard_region(std::span<const double>(z));
            seen[region] = true;
            agree += region == inspect::power_cell(sites, x);
        }
        BOOST_TEST_CONTEXT("R = " << R << ", unit " << unit) BOOST_TEST(agree == points);
        if (unit == 0) // the sampled square reaches more than one cell
            BOOST_TEST(std::count(seen.begin(), seen.end(), true) > 1);
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(random_units_partition_as_power_diagrams) {
    for (const std::size_t R : {2, 3, 5})
        check_random_units(R);
}

BOOST_AUTO_TEST_CASE(maso_units_after_an_affine_row) {
    // leaky ReLU and absolute value after z = <w, x> + b: sites s_r·w, weights from s_r·b + o_r.
    const std::vector<double> w{0.7, -1.1};
    const double b = 0.3;
    const auto check = [&](const auto& unit) {
        constexpr std::size_t R = std::decay_t<decltype(unit)>::regions;
        std::vector<inspect::power_site> sites;
        for (std::size_t r = 0; r < R; ++r) {
            const double s = unit.template slope<double>(r, 0);
            const std::vector<double> a{s * w[0], s * w[1]};
            sites.push_back(inspect::site_of(a, s * b + unit.template offset<double>(r)));
        }
        std::mt19937_64 rng(5);
        std::uniform_real_distribution<double> u(-2, 2);
        for (int i = 0; i < 1000; ++i) {
            const std::vector<double> x{u(rng), u(rng)};
            const auto z =
                vq::regions_of(unit, std::array<double, 1>{w[0] * x[0] + w[1] * x[1] + b});
            BOOST_TEST(vq::hard_region(std::span<const double>(z)) ==
                       inspect::power_cell(sites, x));
        }
    };
    check(vq::leaky_relu{0.2});
    check(vq::absolute{});
    check(vq::two_knot{});
}
