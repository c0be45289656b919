// maso/plan/classify.hpp — pass 3: what kind of computation each node is.
//
// The planner reads only metadata the nodes publish (expr/node.hpp): their
// node_kind and, for windows, whether the window lies inside one H×W plane
// (`fusable`: pooling) or crosses channels (maxout, softmax).
#pragma once

#include <maso/plan/flatten.hpp>

#include <array>

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

template <class L>
struct classify;
template <class... Ns>
struct classify<type_list<Ns...>> {
    static constexpr std::array<node_kind, sizeof...(Ns)> kinds{Ns::kind...};
    static constexpr std::array<bool, sizeof...(Ns)> fusable_window{is_fusable_window<Ns>()...};
};

template <class Net>
inline constexpr auto kinds_v = classify<flatten_t<Net>>::kinds;
template <class Net>
inline constexpr auto fusable_window_v = classify<flatten_t<Net>>::fusable_window;

} // namespace maso::plan
