// Tests of include/maso/inspect/cells.hpp: a node's cell hash sees every unit's code and
// nothing else (one flipped code changes it, padding bits and storage order do not); the cells
// a data set visits, counted from the fused forward's codes, are the distinct sign patterns
// of the layers' pre-activations computed here in double from the weights, per layer and for
// the whole network.
#include <maso/inspect/cells.hpp>
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <type_traits>
#include <vector>

using namespace maso;

BOOST_AUTO_TEST_CASE(a_cell_hash_sees_every_code_and_nothing_else) {
    // A node of 3 channels of 5 units, 2 images, two regions: bits, rows padded to 64.
    std::vector<std::uint64_t> words(3, 0);
    run::node_codes<float> c;
    c.regions = 2;
    c.channels = 3;
    c.height = 1;
    c.width = 5;
    c.ld = 64;
    c.bits = words.data();
    std::mt19937_64 rng(4);
    for (auto& w : words)
        w = rng() & ((std::uint64_t(1) << 10) - 1); // the 2 × 5 units of each row
    const std::uint64_t h0 = inspect::node_cell(c, 0), h1 = inspect::node_cell(c, 1);
    std::set<std::uint64_t> seen{h0};
    for (std::size_t ch = 0; ch < 3; ++ch)
        for (std::size_t p = 0; p < 5; ++p) {
            words[ch] ^= std::uint64_t(1) << p; // image 0's unit (ch, p)
            const std::uint64_t h = inspect::node_cell(c, 0);
            BOOST_TEST(h != h0);
            BOOST_TEST(seen.insert(h).second); // each flip is a cell of its own
            BOOST_TEST(inspect::node_cell(c, 1) == h1);
            words[ch] ^= std::uint64_t(1) << p;
        }
    words[1] |= std::uint64_t(1) << 40; // padding past the row's units
    BOOST_TEST(inspect::node_cell(c, 0) == h0);
    const auto r = inspect::unit_regions(c, 0);
    BOOST_TEST(r.size() == 15u);
    for (std::size_t ch = 0; ch < 3; ++ch)
        for (std::size_t p = 0; p < 5; ++p)
            BOOST_TEST(r[ch * 5 + p] == ((words[ch] >> p) & 1));
}

namespace {
const auto net = input<2>() >>
                 dense<6>() >> hard_vq<relu>() >> dense<5>() >> hard_vq<relu>() >> dense<3>();
using Net = std::decay_t<decltype(net)>;

/// The sign patterns of both layers at x, in double from the model's parameters; `margin`
/// becomes the smallest |pre-activation| met, so that points near a boundary can be left out.
std::pair<std::vector<bool>, std::vector<bool>>
patterns(model<Net>& m, const std::vector<double>& x, double& margin) {
    auto layer = [&](std::span<const float> p, std::size_t n, std::size_t d,
                     const std::vector<double>& in, std::vector<double>& out) {
        std::vector<bool> s;
        out.assign(n, 0);
        for (std::size_t k = 0; k < n; ++k) {
            double z = p[n * d + k];
            for (std::size_t i = 0; i < d; ++i)
                z += double(p[k * d + i]) * in[i];
            margin = std::min(margin, std::abs(z));
            s.push_back(z > 0);
            out[k] = std::max(z, 0.0);
        }
        return s;
    };
    std::vector<double> h1, h2;
    const auto a = layer(m.parameters<1>(), 6, 2, x, h1);
    const auto b = layer(m.parameters<3>(), 5, 6, h1, h2);
    return {a, b};
}
} // namespace

BOOST_AUTO_TEST_CASE(distinct_cells_are_the_distinct_sign_patterns) {
    constexpr std::size_t batch = 50;
    model<Net> m(net, batch, {.seed = 8});
    m.program().record_codes();
    inspect::cell_counter cells(m.node_count);
    std::set<std::vector<bool>> first, second;
    std::set<std::pair<std::vector<bool>, std::vector<bool>>> both;
    std::set<std::uint64_t> network_cells;
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-3.f, 3.f);
    for (int round = 0; round < 40; ++round) {
        std::vector<float> x(2 * batch);
        std::size_t kept = 0;
        // Points within 1e-3 of a boundary are redrawn: float and double may disagree there.
        while (kept < batch) {
            const std::vector<double> p{u(rng), u(rng)};
            double margin = 1e300;
            const auto s = patterns(m, p, margin);
            if (margin < 1e-3) continue;
            x[2 * kept] = float(p[0]);
            x[2 * kept + 1] = float(p[1]);
            first.insert(s.first);
            second.insert(s.second);
            both.insert(s);
            ++kept;
        }
        m.forward(x);
        cells.add(m.program().codes(), batch);
        for (std::size_t n = 0; n < batch; ++n)
            network_cells.insert(inspect::network_cell(m.program().codes(), n));
    }
    BOOST_TEST(cells.samples() == 40 * batch);
    BOOST_TEST(first.size() > 5u); // the test sees a real partition
    BOOST_TEST(cells.distinct(2) == first.size());
    BOOST_TEST(cells.distinct(4) == second.size());
    BOOST_TEST(cells.distinct(1) == 0u); // a dense layer has no units
    BOOST_TEST(cells.distinct() == both.size());
    BOOST_TEST(network_cells.size() == both.size());
}
