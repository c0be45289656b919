// maso/core/type_list.hpp — a flat list of types for the planner's passes.
#pragma once

#include <cstddef>
#include <tuple>

namespace maso {

template <class... Ts>
struct type_list {
    static constexpr std::size_t size = sizeof...(Ts);
};

template <std::size_t I, class L>
struct type_at;
template <std::size_t I, class... Ts>
struct type_at<I, type_list<Ts...>> {
    using type = std::tuple_element_t<I, std::tuple<Ts...>>;
};
template <std::size_t I, class L>
using type_at_t = typename type_at<I, L>::type;

} // namespace maso
