// dsl_examples/ortho_path.hpp — the four orthogonality columns of the paper's experiment
// (issue 15; docs/orthogonality.md) as policies that give every layer of a network its tag.
//
//   none          no constraint anywhere: Table 2's "baseline"
//   penalty       ortho::penalty<> (P-a, λ = 1) on every convolution and dense weight, the class
//                 layer included: Table 2's "Ortho" (paper-spec §5's default)
//   gram_schmidt  the authors' classical Gram–Schmidt, V = GS(W), on every layer where K ≤ D
//   cholesky_qr   the fast exact path, Q of W = L·Q by CholeskyQR2, on every layer where K ≤ D
//
// A layer with K > D cannot have K orthogonal rows (E024): under the exact paths it keeps the
// penalty, so that each exact column differs from the penalty column only where exactness is
// possible (smallCNN: 32 × 9 and 128 × 64 keep the penalty, 64 × 288 and the class layer
// 10 × 128 are exact; largeCNN: only its first layer, 96 × 27, keeps the penalty). The
// authors left their final classifier out of Gram–Schmidt; here it is in, since its K ≤ D.
//
// The tag is a type argument of conv2d and dense, so each column is a network type of its own:
// small_cnn_ortho<…, Path> and large_cnn_ortho<Path, …> take the policy and ask it
// layer_tag<K, D> for each layer.
#pragma once

#include <maso/maso.hpp>

#include <cstddef>
#include <type_traits>

namespace maso_examples::ortho_path {

using namespace maso;

struct none {
    static constexpr const char* key = "none";
    template <std::size_t K, std::size_t D>
    using layer_tag = ortho::none;
};

struct penalty {
    static constexpr const char* key = "penalty";
    template <std::size_t K, std::size_t D>
    using layer_tag = ortho::penalty<>;
};

/// Exact where K ≤ D, the penalty elsewhere.
template <class Exact>
struct exact_where_possible {
    template <std::size_t K, std::size_t D>
    using layer_tag = std::conditional_t<(K <= D), Exact, ortho::penalty<>>;
};

struct gram_schmidt : exact_where_possible<ortho::gram_schmidt<>> {
    static constexpr const char* key = "gram-schmidt";
};

struct cholesky_qr : exact_where_possible<ortho::cholesky_qr> {
    static constexpr const char* key = "cholesky-qr";
};

/// The tag that the column Path gives a layer of K rows of D entries.
template <class Path, std::size_t K, std::size_t D>
using tag_for = typename Path::template layer_tag<K, D>;

} // namespace maso_examples::ortho_path
