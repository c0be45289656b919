// maso/inspect/cells.hpp — a sample's cell of a network's partition, from the codes its
// forward pass recorded (run/codes.hpp), and how many cells a data set visits.
//
// A layer of K units of R regions cuts its input space into at most R^K cells, one per VQ
// matrix T^H (paper-spec §1); the network's partition is the refinement of its layers', and a
// sample's cell there is the tuple of every unit's code across all layers (§5, the factorial
// code). A cell is named here by a 64-bit hash of that tuple: two samples share a cell exactly
// when their codes are equal, up to a hash collision, whose chance among n distinct cells is
// about n²/2⁶⁵ (10⁻⁹ for a hundred thousand cells). A node's cell is the hash of its units'
// codes alone, in channel-major order (channel, then pixel).
//
//   auto m = instantiate(net, 64);
//   m.program().record_codes();
//   inspect::cell_counter cells(m.node_count);
//   for (each batch) { m.forward(images); cells.add(m.program().codes(), m.batch()); }
//   cells.distinct(3);   // cells of node 3's units the data visited
//   cells.distinct();    // cells of the whole network
#pragma once

#include <maso/core/error.hpp>
#include <maso/run/codes.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace maso::inspect {

namespace detail {
/// A 64-bit mixer (Stafford's variant 13 of MurmurHash3's finaliser, as in splitmix64): every
/// input bit moves every output bit.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}
/// Folds a word into a running hash; the order of the words counts.
constexpr std::uint64_t fold(std::uint64_t h, std::uint64_t word) noexcept {
    return mix(h ^ mix(word + 0x9e3779b97f4a7c15ull));
}
} // namespace detail

/// Image n's regions at a node, channel by channel, pixel by pixel (natural order, whatever
/// order the kernel kept z in).
template <class T>
std::vector<std::uint8_t> unit_regions(const run::node_codes<T>& c, std::size_t n) {
    std::vector<std::uint8_t> r;
    if (!c.recorded()) return r;
    const std::size_t plane = c.height * c.width;
    r.reserve(c.channels * plane);
    for (std::size_t ch = 0; ch < c.channels; ++ch)
        for (std::size_t p = 0; p < plane; ++p)
            r.push_back(std::uint8_t(c.region(ch, n, p)));
    return r;
}

/// The hash of image n's codes at one node (0 for a node without codes).
template <class T>
std::uint64_t node_cell(const run::node_codes<T>& c, std::size_t n) {
    if (!c.recorded()) return 0;
    const std::size_t plane = c.height * c.width;
    // Regions packed into words as they come, planes() bits each: the hash sees each unit's
    // region and nothing of the storage (padding, column order, bit-planes).
    const std::size_t width = std::max<std::size_t>(c.planes(), 1), per_word = 64 / width;
    std::uint64_t h = detail::mix(c.channels * plane + 1), word = 0;
    std::size_t used = 0;
    for (std::size_t ch = 0; ch < c.channels; ++ch)
        for (std::size_t p = 0; p < plane; ++p) {
            word |= std::uint64_t(c.region(ch, n, p)) << (used * width);
            if (++used == per_word) h = detail::fold(h, word), word = 0, used = 0;
        }
    return used ? detail::fold(h, word) : h;
}

/// The hash of image n's codes across every node that has them: its cell of the network.
template <class T, std::size_t N>
std::uint64_t network_cell(const std::array<run::node_codes<T>, N>& codes, std::size_t n) {
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < N; ++i)
        if (codes[i].recorded()) h = detail::fold(h ^ i, node_cell(codes[i], n));
    return h;
}

/// The distinct cells the images given to add() visited, per node and for the whole network.
class cell_counter {
public:
    explicit cell_counter(std::size_t nodes) : per_node_(nodes) {}

    /// The cells of the first `images` images of the last forward (a last batch may be
    /// partly padding: count only the real images).
    template <class T, std::size_t N>
    void add(const std::array<run::node_codes<T>, N>& codes, std::size_t images) {
        if (N != per_node_.size())
            throw value_error("maso: cell_counter: codes of " + std::to_string(N) +
                              " nodes given to a counter of " + std::to_string(per_node_.size()));
        for (std::size_t n = 0; n < images; ++n) {
            std::uint64_t h = 0;
            for (std::size_t i = 0; i < N; ++i)
                if (codes[i].recorded()) {
                    const std::uint64_t c = node_cell(codes[i], n);
                    per_node_[i].insert(c);
                    h = detail::fold(h ^ i, c);
                }
            network_.insert(h);
        }
        samples_ += images;
    }

    /// Cells of node i's units visited (0 for a node without codes).
    std::size_t distinct(std::size_t node) const { return per_node_.at(node).size(); }
    /// Cells of the whole network visited.
    std::size_t distinct() const noexcept { return network_.size(); }
    std::size_t samples() const noexcept { return samples_; }

private:
    std::vector<std::unordered_set<std::uint64_t>> per_node_;
    std::unordered_set<std::uint64_t> network_;
    std::size_t samples_ = 0;
};

} // namespace maso::inspect
