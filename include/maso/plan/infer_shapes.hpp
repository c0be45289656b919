// maso/plan/infer_shapes.hpp — pass 2: the shape after every node.
//
// shapes_t<Net> is type_list<S_0, …, S_{n−1}> where S_i is the output shape of
// node i (node 0 is the input, S_0 its shape); the input of node i is S_{i−1}.
// The fold is one step per node over an accumulator that carries the last
// shape, so the cost stays linear in the depth of the network. The checks
// themselves ran in `>>`; a network that reached here is well formed.
#pragma once

#include <maso/plan/flatten.hpp>

namespace maso::plan {

namespace detail {
template <class Last, class List>
struct shape_acc {};
template <class N>
struct node_tag {};

template <class Last, class... Ss, class N>
auto operator+(shape_acc<Last, type_list<Ss...>>, node_tag<N>)
    -> shape_acc<typename N::template output_shape<Last>,
                 type_list<Ss..., typename N::template output_shape<Last>>>;

template <class L>
struct shapes_of;
template <class In, class... Rest>
struct shapes_of<type_list<In, Rest...>> {
    using first = typename In::template output_shape<void>;
    using acc = decltype((shape_acc<first, type_list<first>>{} + ... + node_tag<Rest>{}));
    template <class A>
    struct list_of;
    template <class Last, class List>
    struct list_of<shape_acc<Last, List>> {
        using type = List;
    };
    using type = typename list_of<acc>::type;
};
} // namespace detail

template <class Net>
using shapes_t = typename detail::shapes_of<flatten_t<Net>>::type;

/// Output shape of node I.
template <class Net, std::size_t I>
using output_shape_t = type_at_t<I, shapes_t<Net>>;

/// Input shape of node I ≥ 1.
template <class Net, std::size_t I>
using input_shape_t = type_at_t<I - 1, shapes_t<Net>>;

} // namespace maso::plan
