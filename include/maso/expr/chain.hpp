// maso/expr/chain.hpp — `>>`: networks as flat lists of nodes.
//
//   input<3, 32, 32>() >> conv2d<96, 3>() >> beta_vq<relu>(0.9f) >> softpool<2>(0.5f)
//
// builds chain<shape<96, 16, 16>, input<3,32,32>, conv2d<96,3>, beta_vq<relu>, softpool<2>>:
// the first argument is the output shape, the rest the nodes in order. Each `>>`
// appends one node to a flat pack (never a nested type: dlib's nesting is what
// STYLE.md warns about) and, when the chain starts with an input, checks the new
// node against the current output shape on the spot. A mistake stops at the
// user's `>>` with one "maso Ennn" static_assert (core/diagnostics.hpp); the
// chain's shape becomes invalid_shape and later nodes stay silent.
// A chain that does not start with an input is a fragment (output no_input): a
// reusable block, checked node by node when it is appended to a network.
#pragma once

#include <maso/core/diagnostics.hpp>
#include <maso/core/flat_tuple.hpp>
#include <maso/core/shape.hpp>
#include <maso/core/type_list.hpp>
#include <maso/expr/node.hpp>

#include <tuple>
#include <type_traits>

namespace maso {

/// The output "shape" of a fragment: no input yet, nothing checked yet.
struct no_input {};

template <class Out, class... Nodes>
struct chain {
    using output_shape = Out;
    static constexpr std::size_t size = sizeof...(Nodes);
    flat_tuple<Nodes...> nodes;
};

template <class T>
concept network_node = requires {
    T::kind;
}
&&std::is_same_v<decltype(T::kind), const node_kind>;

template <class T>
inline constexpr bool is_chain_v = false;
template <class Out, class... Ns>
inline constexpr bool is_chain_v<chain<Out, Ns...>> = true;

namespace detail {

/// The check `>>` runs before appending node N after a chain with output In.
template <class N, class In, bool EndsWithLoss>
consteval diag check_append() {
    if constexpr (std::is_same_v<In, invalid_shape> || std::is_same_v<In, no_input>)
        return diag::ok; // an earlier error was reported, or a fragment: checked when appended
    else if constexpr (EndsWithLoss)
        return diag::after_loss;
    else if constexpr (N::kind == node_kind::input)
        return diag::input_after_start;
    else
        return N::template check<In>();
}

// The next output shape; output_shape<In> is only named when the check passed,
// so a node may compute it assuming a valid input (no second error).
template <class N, class In, bool Checked>
struct next_shape {
    using type = std::conditional_t<std::is_same_v<In, no_input>, no_input, invalid_shape>;
};
template <class N, class In>
struct next_shape<N, In, true> {
    using type = typename N::template output_shape<In>;
};

template <class N, class In, bool EndsWithLoss>
using append_shape_t =
    typename next_shape<N, In,
                        !std::is_same_v<In, no_input> && !std::is_same_v<In, invalid_shape> &&
                            check_append<N, In, EndsWithLoss>() == diag::ok>::type;

template <class... Ns>
inline constexpr bool ends_with_loss_v = [] {
    if constexpr (sizeof...(Ns) == 0)
        return false;
    else
        return type_at_t<sizeof...(Ns) - 1, type_list<Ns...>>::kind == node_kind::loss;
}();

/// Appends one node; the check runs here, inside the user's `>>`.
template <class Out, class... Ns, class N>
constexpr auto append(chain<Out, Ns...>&& c, N&& n) {
    using node_t = std::decay_t<N>;
    if constexpr (!std::is_same_v<Out, no_input>) {
        constexpr diag d = check_append<node_t, Out, ends_with_loss_v<Ns...>>();
        [[maybe_unused]] constexpr bool reported = report<d>();
    }
    using next = append_shape_t<node_t, Out, ends_with_loss_v<Ns...>>;
    return maso::apply(
        [&](const auto&... ns) {
            return chain<next, Ns..., node_t>{
                flat_tuple<Ns..., node_t>{std::in_place, ns..., std::forward<N>(n)}};
        },
        c.nodes);
}

template <class N>
constexpr auto start(N&& n) {
    using node_t = std::decay_t<N>;
    if constexpr (node_t::kind == node_kind::input) {
        [[maybe_unused]] constexpr bool reported = report<node_t::template check<void>()>();
        return chain<typename node_t::template output_shape<void>, node_t>{
            flat_tuple<node_t>{std::in_place, n}};
    } else
        return chain<no_input, node_t>{flat_tuple<node_t>{std::in_place, n}};
}

} // namespace detail

/// node >> node
template <network_node A, network_node B>
constexpr auto operator>>(A a, B b) {
    return detail::append(detail::start(std::move(a)), std::move(b));
}

/// chain >> node
template <class Out, class... Ns, network_node B>
constexpr auto operator>>(chain<Out, Ns...> c, B b) {
    return detail::append(std::move(c), std::move(b));
}

/// chain >> fragment: the fragment's nodes are appended (and checked) one by one.
template <class Out, class... Ns, class... Ms>
constexpr auto operator>>(chain<Out, Ns...> c, chain<no_input, Ms...> fragment) {
    return maso::apply([&](const auto&... ms) { return (std::move(c) >> ... >> ms); },
                       fragment.nodes);
}

/// chain >> network, node >> network: E022 — the right side has an input of its own. The
/// result is an invalid chain, so that nothing later reports a second error.
template <class Out, class... Ns, class Out2, class... Ms>
requires(!std::is_same_v<Out2, no_input>) constexpr auto operator>>(chain<Out, Ns...> c,
                                                                    chain<Out2, Ms...>) {
    [[maybe_unused]] constexpr bool reported = detail::report<(
        std::is_same_v<Out, invalid_shape> ? diag::ok : diag::network_after_network)>();
    return chain<invalid_shape, Ns...>{std::move(c.nodes)};
}
template <network_node A, class Out2, class... Ms>
requires(!std::is_same_v<Out2, no_input>) constexpr auto operator>>(A a, chain<Out2, Ms...>) {
    // Dependent on A, so that it is checked where it is used, not where it is declared.
    [[maybe_unused]] constexpr bool reported =
        detail::report<(std::is_void_v<A> ? diag::ok : diag::network_after_network)>();
    return chain<invalid_shape, A>{flat_tuple<A>{std::in_place, std::move(a)}};
}

/// node >> fragment
template <network_node A, class... Ms>
constexpr auto operator>>(A a, chain<no_input, Ms...> fragment) {
    return detail::start(std::move(a)) >> std::move(fragment);
}

} // namespace maso
