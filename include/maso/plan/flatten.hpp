// maso/plan/flatten.hpp — pass 1: the network as a flat list of nodes.
//
// `>>` already keeps chains flat and splices fragments node by node
// (expr/chain.hpp), so this pass only names the list and refuses a network
// that does not start with an input (E010).
#pragma once

#include <maso/core/type_list.hpp>
#include <maso/expr/chain.hpp>

namespace maso::plan {

template <class Net>
struct flatten;

template <class Out, class... Ns>
struct flatten<chain<Out, Ns...>> {
    static constexpr bool starts_with_input = !std::is_same_v<Out, no_input>;
    static constexpr bool valid = starts_with_input && !std::is_same_v<Out, invalid_shape>;
    using type = type_list<Ns...>;
};

template <class Net>
using flatten_t = typename flatten<Net>::type;

} // namespace maso::plan
