// maso/inspect/power_diagram.hpp — a unit's input-space partition as a power diagram
// (Corollary 2, paper-spec §6).
//
// A max-affine unit z_r(x) = <A_r, x> + B_r picks region argmax_r z_r(x). Since
// ‖x − A_r‖² − ρ_r = ‖x‖² − 2 z_r(x) with ρ_r = 2B_r + ‖A_r‖², the same region has the least
// power distance to the site A_r of weight ρ_r: the unit's partition is the power
// (Laguerre–Voronoi) diagram of its GMM's means, and a layer's is the intersection of its
// units'. power_cell computes the cell the second way, from the sites, so that a test can
// hold it against the unit's own choice.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace maso::inspect {

/// A site of a power diagram: a point and its weight.
struct power_site {
    std::vector<double> point;
    double weight = 0;
};

/// The sites of a unit whose region r is the affine map (A_r, B_r): A_r with weight
/// 2B_r + ‖A_r‖².
inline power_site site_of(std::span<const double> a, double b) {
    power_site s{{a.begin(), a.end()}, 2 * b};
    for (const double v : a)
        s.weight += v * v;
    return s;
}

/// The index of x's cell: argmin_r ‖x − p_r‖² − w_r, the lowest index on ties.
inline std::size_t power_cell(std::span<const power_site> sites, std::span<const double> x) {
    std::size_t best = 0;
    double least = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < sites.size(); ++r) {
        double d = -sites[r].weight;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double e = x[i] - sites[r].point[i];
            d += e * e;
        }
        if (d < least) least = d, best = r;
    }
    return best;
}

} // namespace maso::inspect
