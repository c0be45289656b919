// maso/train/orthogonality_metrics.hpp — what a training loop logs about a model's
// orthogonality constraints (paper-spec §5; docs/orthogonality.md#metrics): one record per
// dense or conv2d layer that has one.
//
//   for (const auto& r : orthogonality_metrics(model))
//       std::printf("%s: P = %g, max |cos| = %g\n", r.name.c_str(), r.penalty, r.defect);
//
//   penalty   P(W) of a penalty layer, in its form, without λ: the loss term is λ·P (the model
//             adds it to the loss in training); for Gram–Schmidt and CholeskyQR layers, P-a of
//             the matrix V the layer computes with (rounding level)
//   defect    max_{i≠j} |cos| between the rows of the matrix the layer computes with: W under a
//             penalty, V = GS(W) under a reparametrisation (paper-spec §9.7: ≤ 1e-5 in float)
// Both are of the current parameters (V is computed again from W), so call it between steps,
// not between a forward and its backward. It allocates the records it returns.
#pragma once

#include <maso/ortho/constrained_weight.hpp>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace maso {

struct orthogonality_metric {
    std::size_t node;       ///< the node's index
    std::string name;       ///< the node's name, "conv2d<96, 3, stride 1, same, ortho::…>"
    std::string constraint; ///< the tag: "ortho::penalty<off_diagonal>(λ = 1)", …
    double lambda;          ///< a penalty's λ (0 for the other tags)
    double penalty;         ///< see the header
    double defect;          ///< max |cos| between rows, see the header
};

/// One record per layer of `model` with an orthogonality constraint, in node order.
template <class Model>
std::vector<orthogonality_metric> orthogonality_metrics(Model& model) {
    auto& program = model.program();
    using program_t = std::decay_t<decltype(program)>;
    std::vector<orthogonality_metric> out;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        auto one = [&](auto i) {
            auto& layer = program.template layer<i>();
            if constexpr (requires { layer.constraint(); }) {
                auto& c = layer.constraint();
                using C = std::decay_t<decltype(c)>;
                if constexpr (C::active) {
                    const auto w = program.template parameters<i>().first(C::rows * C::cols);
                    double lambda = 0;
                    if constexpr (requires { c.lambda(); }) lambda = c.lambda();
                    out.push_back({i, program.node_name(i), ortho::tag_string(c.tag()), lambda,
                                   c.penalty_of(w), c.defect_of(w)});
                }
            }
        };
        (one(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<program_t::node_count>{});
    return out;
}

} // namespace maso
