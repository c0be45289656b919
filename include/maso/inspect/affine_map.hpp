// maso/inspect/affine_map.hpp — the spline itself: the affine map a network applies on one
// sample's cell, materialised from the codes its forward pass recorded (run/codes.hpp).
//
// On the cell of its VQ matrix T every node is affine (paper-spec §1, eq. 2 / 16): a dense or
// convolution layer is W x + b; a batch norm in evaluation is the per-channel scale γ/√(σ² + ε)
// and shift β − γμ/√(σ² + ε) (the running statistics: folded into the map); a unit picks the
// piece of its region, y = s_r z + o_r; max pooling and maxout pick the member chosen; average
// pooling averages; flatten moves. Composed from the network's last spline node back to its
// input they give the whole network's map on the sample's cell — for a classifier, input to
// logits (a final softmax or loss is left out) — and composed over a kernel's nodes, that
// layer's map.
//
// With T = T^H (vq_matrix::hard) a unit takes its region's piece: the map is the network's own
// on the cell, its A the Jacobian there, for a network whose units are all hard. A β-VQ unit's
// output is the posterior mean of its pieces, y = Σ_r p_r (s_r z + o_r) (eq. 16): with
// vq_matrix::posterior (codes recorded with their posteriors) a unit takes that mean's slope
// and offset, and A x + b is the network's output at x exactly — but A is then not the
// Jacobian, as p depends on x; a β-VQ window (softpool, maxout, global_softpool with β < 1)
// likewise takes the posterior mean of its members, its output. Nodes that are not splines
// (sigmoid, tanh) have no such map: refused.
//
// The map is built from the output side, G ← G·M_I and b ← b + G·c_I for node I = y ↦ M_I y +
// c_I, so its cost is rows × the nodes' sizes: the network map of a 10-class classifier is 10
// rows from the start. Values in double, whatever the model's T. The model must have run its
// last forward in evaluation mode with codes recorded (program::record_codes).
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/flat_tuple.hpp>
#include <maso/expr/node.hpp>
#include <maso/layers/avgpool.hpp>
#include <maso/layers/global_pool.hpp>
#include <maso/layers/softmax.hpp>
#include <maso/run/codes.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace maso::inspect {

/// y = A x + b, A of rows × cols in row-major order, in double.
struct affine_map {
    std::size_t rows = 0, cols = 0;
    std::vector<double> A, b;

    double& a(std::size_t r, std::size_t c) noexcept { return A[r * cols + c]; }
    double a(std::size_t r, std::size_t c) const noexcept { return A[r * cols + c]; }
    std::vector<double> apply(std::span<const double> x) const {
        if (x.size() != cols)
            throw value_error("maso: affine_map::apply: x has " + std::to_string(x.size()) +
                              " values, the map " + std::to_string(cols) + " columns");
        std::vector<double> y(b);
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c)
                y[r] += A[r * cols + c] * x[c];
        return y;
    }
};

/// Which VQ matrix a unit's piece is taken with.
enum class vq_matrix {
    hard,     ///< T^H: its region's piece
    posterior ///< T^β: the posterior mean of its pieces (codes recorded with posteriors)
};

namespace detail {

template <class Node>
struct is_avgpool : std::false_type {};
template <std::size_t K>
struct is_avgpool<avgpool_node<K>> : std::true_type {
    static constexpr std::size_t window = K;
};

/// Whether a window node infers hard (maxpool, or a fixed β = 1).
template <class Node>
bool hard_window(const Node& node) {
    if constexpr (requires { node.beta; })
        return !node.beta.learnable && node.beta.value == 1.f;
    else
        return true;
}

/// Whether node I takes the posterior mean of its pieces or members (T^β of a node that is
/// not hard), which needs the codes recorded with their posteriors.
template <class Node, class T>
bool posterior_mean(const Node& node, vq_matrix t, const run::node_codes<T>& codes,
                    const std::string& where) {
    bool mean = t == vq_matrix::posterior;
    if constexpr (Node::kind == node_kind::window) mean = mean && !hard_window(node);
    if (mean && !codes.posteriors)
        throw value_error(where + "the posteriors were not recorded "
                                  "(program::record_codes(true, true))");
    return mean;
}

/// G (rows × out) and the offsets gathered so far, as the map is built from the output side.
struct pullback {
    std::size_t rows, width;
    std::vector<double> G, b;
    double g(std::size_t r, std::size_t j) const noexcept { return G[r * width + j]; }
    /// b += G·c for a node's offset c (over its outputs).
    void add_offset(const std::vector<double>& c) {
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < width; ++j)
                b[r] += G[r * width + j] * c[j];
    }
};

inline pullback identity(std::size_t n) {
    pullback p{n, n, std::vector<double>(n * n, 0.0), std::vector<double>(n, 0.0)};
    for (std::size_t i = 0; i < n; ++i)
        p.G[i * n + i] = 1;
    return p;
}

/// Node I of model m at image n: G ← G·M_I, b ← b + G·c_I. In and Out: its shapes.
template <std::size_t I, class Model>
void pull_node(Model& m, std::size_t n, vq_matrix t, pullback& p) {
    using P = typename Model::program_type;
    using node = typename P::template node_t<I>;
    using In = typename P::template out_shape<I - 1>;
    using Out = typename P::template out_shape<I>;
    using T = typename Model::value_type;
    auto& program = m.program();
    const std::size_t rows = p.rows;
    std::vector<double> next(rows * In::size, 0.0), offset(Out::size, 0.0);
    auto G = [&](std::size_t r, std::size_t j) { return p.G[r * Out::size + j]; };
    auto N = [&](std::size_t r, std::size_t i) -> double& { return next[r * In::size + i]; };
    const auto& codes = program.codes()[I];
    const std::string where =
        "maso: node " + std::to_string(I) + " (" + program.node_name(I) + "): ";

    if constexpr (node::kind == node_kind::contraction) {
        const std::span<const T> params = m.template parameters<I>();
        const T* W = program.template layer<I>().constraint().weight(params.data());
        constexpr bool has_bias = P::template layer_t<I>::has_bias;
        if constexpr (requires { node::filters; }) { // conv2d
            constexpr std::size_t K = node::kernel, S = node::stride, pad = node::pad;
            constexpr std::size_t Co = Out::channels, Ci = In::channels, D = Ci * K * K;
            for (std::size_t co = 0; co < Co; ++co)
                for (std::size_t oy = 0; oy < Out::height; ++oy)
                    for (std::size_t ox = 0; ox < Out::width; ++ox) {
                        const std::size_t j = co * Out::plane + oy * Out::width + ox;
                        if constexpr (has_bias) offset[j] = double(params[Co * D + co]);
                        for (std::size_t ci = 0; ci < Ci; ++ci)
                            for (std::size_t ky = 0; ky < K; ++ky)
                                for (std::size_t kx = 0; kx < K; ++kx) {
                                    const std::ptrdiff_t iy = std::ptrdiff_t(oy * S + ky) -
                                                              std::ptrdiff_t(pad),
                                                         ix = std::ptrdiff_t(ox * S + kx) -
                                                              std::ptrdiff_t(pad);
                                    if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(In::height) ||
                                        ix >= std::ptrdiff_t(In::width))
                                        continue;
                                    const double w = double(W[co * D + (ci * K + ky) * K + kx]);
                                    const std::size_t i =
                                        ci * In::plane + std::size_t(iy) * In::width + ix;
                                    for (std::size_t r = 0; r < rows; ++r)
                                        N(r, i) += G(r, j) * w;
                                }
                    }
        } else { // dense
            constexpr std::size_t D = In::size;
            for (std::size_t j = 0; j < Out::size; ++j) {
                if constexpr (has_bias) offset[j] = double(params[Out::size * D + j]);
                for (std::size_t i = 0; i < D; ++i) {
                    const double w = double(W[j * D + i]);
                    for (std::size_t r = 0; r < rows; ++r)
                        N(r, i) += G(r, j) * w;
                }
            }
        }
    } else if constexpr (node::kind == node_kind::normalization) {
        using L = typename P::template layer_t<I>;
        const std::span<const T> params = m.template parameters<I>();
        const std::span<const T> state = program.template state<I>();
        const auto& layer = program.template layer<I>();
        for (std::size_t c = 0; c < In::channels; ++c) {
            const double mean = double(L::running_mean(state, c));
            const double s =
                double(params[c]) / std::sqrt(double(L::running_var(state, c)) + double(layer.eps));
            for (std::size_t q = 0; q < In::plane; ++q) {
                const std::size_t j = c * In::plane + q;
                offset[j] = double(params[In::channels + c]) - s * mean;
                for (std::size_t r = 0; r < rows; ++r)
                    N(r, j) = G(r, j) * s;
            }
        }
    } else if constexpr (node::kind == node_kind::elementwise && requires { node::code_regions; }) {
        const auto unit = maso::get<I>(program.net().nodes).unit;
        const bool mean = posterior_mean(maso::get<I>(program.net().nodes), t, codes, where);
        for (std::size_t c = 0; c < In::channels; ++c)
            for (std::size_t q = 0; q < In::plane; ++q) {
                const std::size_t j = c * In::plane + q;
                double s = 0, o = 0;
                if (!mean) {
                    const std::size_t r = codes.region(c, n, q);
                    s = unit.template slope<double>(r, 0);
                    o = unit.template offset<double>(r);
                } else {
                    for (std::size_t r = 0; r < node::code_regions; ++r) {
                        const double pr = double(codes.posterior(c, n, q, r));
                        s += pr * unit.template slope<double>(r, 0);
                        o += pr * unit.template offset<double>(r);
                    }
                }
                offset[j] = o;
                for (std::size_t r = 0; r < rows; ++r)
                    N(r, j) = G(r, j) * s;
            }
    } else if constexpr (node::kind == node_kind::window && requires { node::channel_window; }) {
        // maxout<R>: output channel g is input channel g·R + the chosen member, or with the
        // posteriors of a β-VQ maxout their mean over the members (its output).
        const bool mean = posterior_mean(maso::get<I>(program.net().nodes), t, codes, where);
        constexpr std::size_t R = node::code_regions;
        for (std::size_t g = 0; g < Out::channels; ++g)
            for (std::size_t q = 0; q < Out::plane; ++q) {
                const std::size_t j = g * Out::plane + q, chosen = codes.region(g, n, q);
                for (std::size_t k = 0; k < R; ++k) {
                    const double w = mean ? double(codes.posterior(g, n, q, k)) : k == chosen;
                    if (w == 0) continue;
                    const std::size_t i = (g * R + k) * In::plane + q;
                    for (std::size_t r = 0; r < rows; ++r)
                        N(r, i) += G(r, j) * w;
                }
            }
    } else if constexpr (node::kind == node_kind::window && requires { node::code_regions; }) {
        // maxpool / softpool: the window's chosen member, or with the posteriors of a β-VQ
        // window their mean, y = Σ_k p_k v_k (softpool's output itself).
        const bool mean = posterior_mean(maso::get<I>(program.net().nodes), t, codes, where);
        constexpr std::size_t K = node::window;
        for (std::size_t c = 0; c < Out::channels; ++c)
            for (std::size_t q = 0; q < Out::plane; ++q) {
                const std::size_t j = c * Out::plane + q, chosen = codes.region(c, n, q);
                for (std::size_t k = 0; k < K * K; ++k) {
                    const double w = mean ? double(codes.posterior(c, n, q, k)) : k == chosen;
                    if (w == 0) continue;
                    const std::size_t y = (q / Out::width) * K + k / K,
                                      x = (q % Out::width) * K + k % K;
                    const std::size_t i = c * In::plane + y * In::width + x;
                    for (std::size_t r = 0; r < rows; ++r)
                        N(r, i) += G(r, j) * w;
                }
            }
    } else if constexpr (is_avgpool<node>::value) { // the mean of each K×K window
        constexpr std::size_t K = is_avgpool<node>::window;
        for (std::size_t c = 0; c < Out::channels; ++c)
            for (std::size_t q = 0; q < Out::plane; ++q)
                for (std::size_t k = 0; k < K * K; ++k) {
                    const std::size_t y = (q / Out::width) * K + k / K,
                                      x = (q % Out::width) * K + k % K;
                    const std::size_t j = c * Out::plane + q, i = c * In::plane + y * In::width + x;
                    for (std::size_t r = 0; r < rows; ++r)
                        N(r, i) += G(r, j) / double(K * K);
                }
    } else if constexpr (std::is_same_v<node, global_softpool_node>) {
        // Each plane's chosen member (global max pooling's piece, T^H), or with the posteriors
        // of a β-VQ pooling their mean over the plane (its output).
        const bool mean = posterior_mean(maso::get<I>(program.net().nodes), t, codes, where);
        for (std::size_t c = 0; c < In::channels; ++c) {
            const std::size_t chosen = codes.region(c, n, 0);
            for (std::size_t k = 0; k < In::plane; ++k) {
                const double w = mean ? double(codes.posterior(c, n, 0, k)) : k == chosen;
                if (w == 0) continue;
                for (std::size_t r = 0; r < rows; ++r)
                    N(r, c * In::plane + k) += G(r, c) * w;
            }
        }
    } else if constexpr (std::is_same_v<node, global_avgpool_node>) { // the plane's mean
        for (std::size_t c = 0; c < In::channels; ++c)
            for (std::size_t q = 0; q < In::plane; ++q)
                for (std::size_t r = 0; r < rows; ++r)
                    N(r, c * In::plane + q) = G(r, c) / double(In::plane);
    } else if constexpr (node::kind == node_kind::reshape) { // flatten: the same order
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t i = 0; i < In::size; ++i)
                N(r, i) = G(r, i);
    } else {
        throw value_error(where + "not a piecewise-affine node: it has no affine map on a cell");
    }
    p.add_offset(offset);
    p.G = std::move(next);
    p.width = In::size;
}

/// G ← G·M_I … G·M_Begin for the nodes [Begin, End), from the last.
template <std::size_t Begin, std::size_t End, class Model>
void pull_nodes(Model& m, std::size_t n, vq_matrix t, pullback& p) {
    [&]<std::size_t... K>(std::index_sequence<K...>) { (pull_node<End - 1 - K>(m, n, t, p), ...); }
    (std::make_index_sequence<End - Begin>{});
}

template <class Model>
void check_model(Model& m, std::size_t n) {
    if (!m.program().records_codes())
        throw value_error("maso: an affine map needs the codes of the last forward "
                          "(program::record_codes)");
    if (m.get_mode() != mode::evaluation)
        throw value_error("maso: an affine map folds the batch norms' running statistics: "
                          "run the forward in mode::evaluation");
    if (n >= m.batch())
        throw value_error("maso: image " + std::to_string(n) + " is outside the batch of " +
                          std::to_string(m.batch()));
}

inline affine_map to_map(pullback&& p) { return {p.rows, p.width, std::move(p.G), std::move(p.b)}; }

/// The last node the network map reaches: before a final loss or softmax.
template <class Model>
constexpr std::size_t map_end() {
    using P = typename Model::program_type;
    constexpr std::size_t last = Model::node_count - 1;
    using node = typename P::template node_t<last>;
    if constexpr (node::kind == node_kind::loss || std::is_same_v<node, softmax_node>)
        return last; // softmax_cross_entropy, softmax: left out
    else
        return last + 1;
}

} // namespace detail

/// Nodes [Begin, End)'s affine map on image n's cell of the last forward: from node Begin's
/// input to node End − 1's output, both flattened channel by channel.
template <std::size_t Begin, std::size_t End, class Model>
affine_map nodes_map(Model& m, std::size_t n, vq_matrix t = vq_matrix::hard) {
    static_assert(0 < Begin && Begin < End && End <= Model::node_count);
    detail::check_model(m, n);
    using Out = typename Model::program_type::template out_shape<End - 1>;
    detail::pullback p = detail::identity(Out::size);
    detail::pull_nodes<Begin, End>(m, n, t, p);
    return detail::to_map(std::move(p));
}

/// The whole network's map on image n's cell: its input to its last output before a final
/// softmax or loss (a classifier's logits).
template <class Model>
affine_map network_map(Model& m, std::size_t n, vq_matrix t = vq_matrix::hard) {
    return nodes_map<1, detail::map_end<Model>()>(m, n, t);
}

/// Each fused kernel's ("layer's") map on image n's cell, in order: from the kernel's input
/// to its output; kernels after the network map's end (the loss) are left out.
template <class Model>
std::vector<affine_map> layer_maps(Model& m, std::size_t n, vq_matrix t = vq_matrix::hard) {
    using P = typename Model::program_type;
    std::vector<affine_map> maps;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
        (
            [&] {
                constexpr auto g = P::groups[K];
                if constexpr (g.end <= detail::map_end<Model>())
                    maps.push_back(nodes_map<g.begin, g.end>(m, n, t));
            }(),
            ...);
    }
    (std::make_index_sequence<P::groups.size()>{});
    return maps;
}

} // namespace maso::inspect
