// maso/core/type_list.hpp — a flat list of types for the planner's passes.
//
// type_at_t<I, L> is found in O(1) instantiations: with clang's
// __type_pack_element, or else by letting overload resolution pick the one base
// type_slot<I, T> of an index built once per list (std::tuple_element on a long
// pack costs a recursion per lookup; see core/flat_tuple.hpp for why that matters).
#pragma once

#include <cstddef>
#include <utility>

namespace maso {

template <class... Ts>
struct type_list {
    static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {
template <std::size_t I, class T>
struct type_slot {
    using type = T;
};
template <class Seq, class... Ts>
struct type_index;
template <std::size_t... I, class... Ts>
struct type_index<std::index_sequence<I...>, Ts...> : type_slot<I, Ts>... {};
template <std::size_t I, class T>
type_slot<I, T> pick(const type_slot<I, T>&);
} // namespace detail

template <std::size_t I, class L>
struct type_at;
template <std::size_t I, class... Ts>
struct type_at<I, type_list<Ts...>> {
#if defined(__has_builtin)
#if __has_builtin(__type_pack_element)
#define MASO_HAS_TYPE_PACK_ELEMENT 1
#endif
#endif
#ifdef MASO_HAS_TYPE_PACK_ELEMENT
    using type = __type_pack_element<I, Ts...>;
#else
    using type = typename decltype(detail::pick<I>(
        detail::type_index<std::index_sequence_for<Ts...>, Ts...>{}))::type;
#endif
};
template <std::size_t I, class L>
using type_at_t = typename type_at<I, L>::type;

} // namespace maso
