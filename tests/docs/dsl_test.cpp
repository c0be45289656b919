// Tests of docs/dsl.md: the examples that are not whole programs (those are in dsl_examples/),
// built and run as the page shows them (tests/docs/quotes_test.cpp checks that the page quotes
// these lines).
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace maso;

// β: fixed, learnable or per channel.
// Quoted by docs/dsl.md as it is:
// clang-format off
const auto fixed = beta_vq<relu>(0.9f);                        // β = 0.9, fixed: a plain float
const auto layer = beta_vq<relu>(learnable(0.5f));             // one learnable β for the layer
const auto per_c = beta_vq<relu>(learnable_per_channel(0.5f)); // one learnable β per channel
// clang-format on

// Fragments.
// Quoted by docs/dsl.md as it is:
// clang-format off
template <std::size_t C>
auto conv_bn_relu() {
    return conv2d<C, 3, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>();
}

const auto stage = conv_bn_relu<32>() >> conv_bn_relu<32>() >> maxpool<2>(); // a fragment
const auto vgg_like = input<3, 32, 32>() >> stage >> conv_bn_relu<64>() >> maxpool<2>()
                      >> flatten() >> dense<10>() >> softmax_cross_entropy();
// clang-format on

// The maso::tanh naming caveat.
const auto soft_outputs = input<4>() >> dense<3>() >> maso::tanh(0.7f) >> dense<3>() >>
                          tanh() >> dense<3>() >> tanh(learnable(0.7f));

namespace {

const auto net = input<8>() >> dense<6>() >> beta_vq<relu>(learnable(0.5f)) >> dense<3>() >>
                 softmax_cross_entropy();

bool has(const std::string& text, const std::string& piece) {
    return text.find(piece) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(betas_fixed_learnable_or_per_channel) {
    BOOST_TEST(has(describe(input<4>() >> fixed), "beta_vq<relu>(β = 0.9)"));
    BOOST_TEST(has(describe(input<4>() >> layer), "beta_vq<relu>(β = 0.5, learnable)"));
    BOOST_TEST(has(describe(input<4>() >> per_c), "beta_vq<relu>(β = 0.5, learnable per channel)"));
}

BOOST_AUTO_TEST_CASE(a_fragment_is_spliced_node_by_node) {
    // The input and fourteen nodes: fourteen kernels unfused.
    BOOST_TEST(
        has(describe(vgg_like, fuse::none), "plan (fuse::none): input<3, 32, 32>, 14 kernels"),
        describe(vgg_like, fuse::none));
}

BOOST_AUTO_TEST_CASE(tanh_with_and_without_its_namespace) {
    BOOST_TEST(has(describe(soft_outputs), "tanh(β = 0.7)"), describe(soft_outputs));
    BOOST_TEST(has(describe(soft_outputs), "tanh(β = 0.7, learnable)"), describe(soft_outputs));
}

BOOST_AUTO_TEST_CASE(initialiser_options) {
    auto model = instantiate(net, 64, fuse::all, {.weights = initializer::orthogonal, .seed = 7});
    BOOST_TEST(model.batch() == 64u);
    // Orthogonal rows: the 6 rows of node 1's 6×8 weights are orthonormal.
    const auto w = model.parameters<1>();
    for (std::size_t r = 0; r < 6; ++r)
        for (std::size_t s = 0; s < 6; ++s) {
            double dot = 0;
            for (std::size_t k = 0; k < 8; ++k)
                dot += double(w[r * 8 + k]) * double(w[s * 8 + k]);
            BOOST_TEST(dot == (r == s ? 1.0 : 0.0), boost::test_tools::tolerance(1e-5));
        }
}
