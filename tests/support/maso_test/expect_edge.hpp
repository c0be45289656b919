// maso_test/expect_edge.hpp — a contraction reading the network's input in the layout
// it asked for (expr/node.hpp's edge_layout) computes what it computes from x.
//
// expect_edge_matches<In>(node, batch) runs the node's float layer twice on the same
// x, parameters and dy: once with io.x channel-major, once with io.x_edge, the edge
// copy built here by its definition (the planes zero-padded, or the images as given)
// and io.x.data null. The products read the same values either way, in the same
// order, so y, the parameter gradients and dx must be bitwise equal.
#pragma once

#include <maso/expr/node.hpp>

#include <maso_test/check.hpp>

#include <cstddef>
#include <vector>

namespace maso_test {

/// x[c][n][H][W] (channel-major) as the edge stores it for `node`.
template <class In, class Node>
std::vector<float> edge_copy(const Node&, const std::vector<float>& x, std::size_t batch) {
    constexpr std::size_t C = In::channels, H = In::height, W = In::width;
    if constexpr (Node::input_edge == maso::edge_layout::padded) {
        constexpr std::size_t P = Node::input_padding, hp = H + 2 * P, wp = W + 2 * P;
        std::vector<float> xp(C * batch * hp * wp, 0.f);
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t n = 0; n < batch; ++n)
                for (std::size_t y = 0; y < H; ++y)
                    for (std::size_t i = 0; i < W; ++i)
                        xp[((c * batch + n) * hp + y + P) * wp + i + P] =
                            x[((c * batch + n) * H + y) * W + i];
        return xp;
    } else {
        static_assert(Node::input_edge == maso::edge_layout::images);
        std::vector<float> images(x.size());
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t n = 0; n < batch; ++n)
                for (std::size_t p = 0; p < H * W; ++p)
                    images[(n * C + c) * H * W + p] = x[(c * batch + n) * H * W + p];
        return images;
    }
}

template <class In, class Node>
void expect_edge_matches(const Node& node, std::size_t batch) {
    using layer_t = typename Node::template layer<In, float>;
    using Out = typename layer_t::output;
    const layer_t layer(node);
    const auto params = uniform_vector<float>(layer.parameter_count(), -1, 1);
    const auto x = uniform_vector<float>(In::size * batch, -2, 2);
    const auto dy = uniform_vector<float>(Out::size * batch, -1, 1);
    const std::vector<float> edge = edge_copy<In>(node, x, batch);

    struct result {
        std::vector<float> y, grads, dx;
    };
    auto run = [&](bool from_edge) {
        result r{std::vector<float>(Out::size * batch), std::vector<float>(params.size(), 0.f),
                 std::vector<float>(In::size * batch, 123.f)};
        std::vector<float> scratch(layer.scratch_size(batch) + 1);
        maso::layer_io<In, Out, float> io;
        io.x = {from_edge ? nullptr : x.data(), batch};
        io.x_edge = from_edge ? edge.data() : nullptr;
        io.y = {r.y.data(), batch};
        io.dy = {dy.data(), batch};
        io.dx = {r.dx.data(), batch};
        io.params = params;
        io.grads = r.grads;
        io.scratch = scratch;
        layer.forward(io);
        layer.backward(io);
        return r;
    };
    const result a = run(false), b = run(true);
    BOOST_TEST_CONTEXT(Node::name(node) << ", batch " << batch) {
        BOOST_TEST(a.y == b.y, boost::test_tools::per_element());
        BOOST_TEST(a.grads == b.grads, boost::test_tools::per_element());
        BOOST_TEST(a.dx == b.dx, boost::test_tools::per_element());
    }
}

} // namespace maso_test
