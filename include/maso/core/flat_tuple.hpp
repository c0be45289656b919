// maso/core/flat_tuple.hpp — a tuple whose elements are sibling bases, not a recursion.
//
// libstdc++'s std::tuple<T0, …, Tn> derives from _Tuple_impl<0, T0…Tn>, which
// derives from _Tuple_impl<1, T1…Tn>, and so on: n classes whose argument lists
// add up to n²/2 types. A network built by n `>>` has n intermediate chains, so
// holding its nodes in std::tuple costs ~n³/6 — 5.9 GiB and 220 s of g++ for 131
// nodes. Here element I is the base leaf<I, T_I>: one class per element, and the
// leaves are shared by every chain that has the same node at the same place, so
// each `>>` adds O(n) small classes (STYLE.md: flat lists, not nested templates).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace maso {

namespace detail {
template <std::size_t I, class T>
struct tuple_leaf {
    T value;
};

template <class Seq, class... Ts>
struct flat_tuple_base;
template <std::size_t... I, class... Ts>
struct flat_tuple_base<std::index_sequence<I...>, Ts...> : tuple_leaf<I, Ts>... {
    constexpr flat_tuple_base() = default;
    template <class... Us>
    constexpr explicit flat_tuple_base(std::in_place_t, Us&&... us)
        : tuple_leaf<I, Ts>{std::forward<Us>(us)}... {}
};

// Overload resolution picks the one base with index I and deduces its type.
template <std::size_t I, class T>
constexpr T& leaf(tuple_leaf<I, T>& l) noexcept {
    return l.value;
}
template <std::size_t I, class T>
constexpr const T& leaf(const tuple_leaf<I, T>& l) noexcept {
    return l.value;
}
} // namespace detail

template <class... Ts>
struct flat_tuple : detail::flat_tuple_base<std::index_sequence_for<Ts...>, Ts...> {
    static constexpr std::size_t size = sizeof...(Ts);
    using detail::flat_tuple_base<std::index_sequence_for<Ts...>, Ts...>::flat_tuple_base;
};

/// The elements as arguments: flat_tuple{std::in_place, a, b, c}.
template <class... Us>
flat_tuple(std::in_place_t, Us...) -> flat_tuple<Us...>;

template <std::size_t I, class... Ts>
constexpr auto& get(flat_tuple<Ts...>& t) noexcept {
    return detail::leaf<I>(t);
}
template <std::size_t I, class... Ts>
constexpr const auto& get(const flat_tuple<Ts...>& t) noexcept {
    return detail::leaf<I>(t);
}

/// f(element 0, …, element n−1).
template <class F, class... Ts>
constexpr decltype(auto) apply(F&& f, const flat_tuple<Ts...>& t) {
    return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
        return std::forward<F>(f)(maso::get<I>(t)...);
    }
    (std::index_sequence_for<Ts...>{});
}

} // namespace maso
