// maso/core/diagnostics.hpp — the compile-time error codes of the DSL.
//
// A node checks its input shape with a consteval `check<In>()` that returns one
// of these codes. `>>` (expr/chain.hpp) passes the code to report<>(), whose
// static_asserts print "maso Ennn: …" with the user's `>>` line in the
// instantiation trace, and the node's output becomes invalid_shape so that no
// further error follows. docs/errors.md explains every code; each has a
// compile-fail test in tests/compile_fail/.
#pragma once

namespace maso {

enum class diag {
    ok = 0,
    // E001–E003 are raised directly by vq/ (units and kernels); E024's static_assert is in
    // ortho/check_shape.hpp, where K and D are template arguments.
    chain_needs_input = 10,     ///< E010
    input_after_start = 11,     ///< E011
    dense_needs_vector = 12,    ///< E012
    kernel_too_large = 13,      ///< E013
    pool_not_dividing = 14,     ///< E014
    maxout_not_dividing = 15,   ///< E015
    after_loss = 16,            ///< E016
    loss_needs_vector = 17,     ///< E017
    zero_extent = 18,           ///< E018
    stride_zero = 19,           ///< E019
    same_needs_odd_kernel = 20, ///< E020
    softmax_needs_vector = 21,  ///< E021
    network_after_network = 22, ///< E022
    node_out_of_range = 23,     ///< E023
    /// E024: Gram–Schmidt or CholeskyQR on W[K][D] with K > D. Its static_assert is
    /// ortho::check_shape's, which shows K and D; report() adds none, so that it is one error.
    rows_exceed_fan_in = 24,
};

namespace detail {
// One static_assert per code: the message is a literal, as static_assert needs.
template <diag D>
constexpr bool report() {
    static_assert(D != diag::chain_needs_input,
                  "maso E010: a network starts with input<C, H, W>() or input<N>()");
    static_assert(D != diag::input_after_start,
                  "maso E011: input<...>() may only start a network, not follow a node");
    static_assert(D != diag::dense_needs_vector,
                  "maso E012: dense<N> needs a vector input (H = W = 1); put flatten() or a "
                  "global pooling before it");
    static_assert(D != diag::kernel_too_large,
                  "maso E013: conv2d<Cout, K> with valid padding needs K no larger than the "
                  "input map");
    static_assert(D != diag::pool_not_dividing,
                  "maso E014: a k×k pooling window must divide the map's height and width");
    static_assert(D != diag::maxout_not_dividing,
                  "maso E015: maxout<k> needs the channel count divisible by k");
    static_assert(D != diag::after_loss,
                  "maso E016: the loss (softmax_cross_entropy) must be the last node");
    static_assert(D != diag::loss_needs_vector,
                  "maso E017: softmax_cross_entropy needs a vector of class scores (H = W = 1)");
    static_assert(D != diag::zero_extent, "maso E018: shapes, widths and counts must be positive");
    static_assert(D != diag::stride_zero, "maso E019: a convolution stride must be at least 1");
    static_assert(D != diag::same_needs_odd_kernel,
                  "maso E020: conv2d with same padding needs an odd kernel size K");
    static_assert(D != diag::softmax_needs_vector,
                  "maso E021: softmax() needs a vector of scores (H = W = 1)");
    static_assert(D != diag::network_after_network,
                  "maso E022: a network that starts with input<...>() cannot follow another "
                  "node; drop its input to make it a fragment, and append that");
    static_assert(D != diag::node_out_of_range,
                  "maso E023: the node index is past the network's last node (a network of n "
                  "nodes, the input included, has indices 0 to n - 1)");
    return D == diag::ok;
}
} // namespace detail

} // namespace maso
