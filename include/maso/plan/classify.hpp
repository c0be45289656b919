// maso/plan/classify.hpp — pass 3: what kind of computation each node is.
//
// The planner reads only metadata the nodes publish (expr/node.hpp): their
// node_kind and, for windows, whether the window lies inside one H×W plane
// (`fusable`: pooling) or crosses channels (maxout, softmax) — and of those, whether
// it reduces groups of consecutive channels pointwise along the columns, so that it
// can close a group headed by a contraction (`channel_window`: maxout, with its
// `group` of channels).
#pragma once

#include <maso/plan/flatten.hpp>

#include <array>
#include <cstddef>

namespace maso::plan {

template <class N>
consteval bool is_fusable_window() {
    if constexpr (N::kind != node_kind::window)
        return false;
    else if constexpr (requires { N::fusable; })
        return N::fusable;
    else
        return false;
}

template <class N>
consteval bool is_channel_window() {
    if constexpr (N::kind != node_kind::window)
        return false;
    else if constexpr (requires { N::channel_window; })
        return N::channel_window;
    else
        return false;
}

/// A channel window's group size (maxout<R>'s R); 1 for any other node.
template <class N>
consteval std::size_t channel_group_of() {
    if constexpr (is_channel_window<N>())
        return N::group;
    else
        return 1;
}

template <class L>
struct classify;
template <class... Ns>
struct classify<type_list<Ns...>> {
    static constexpr std::array<node_kind, sizeof...(Ns)> kinds{Ns::kind...};
    static constexpr std::array<bool, sizeof...(Ns)> fusable_window{is_fusable_window<Ns>()...};
    static constexpr std::array<bool, sizeof...(Ns)> channel_window{is_channel_window<Ns>()...};
    static constexpr std::array<std::size_t, sizeof...(Ns)> channel_group{
        channel_group_of<Ns>()...};
};

template <class Net>
inline constexpr auto kinds_v = classify<flatten_t<Net>>::kinds;
template <class Net>
inline constexpr auto fusable_window_v = classify<flatten_t<Net>>::fusable_window;
template <class Net>
inline constexpr auto channel_window_v = classify<flatten_t<Net>>::channel_window;
template <class Net>
inline constexpr auto channel_groups_v = classify<flatten_t<Net>>::channel_group;

} // namespace maso::plan
