// Tests of include/maso/plan/describe.hpp: the plan printed, fused and unfused.
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

using namespace maso;

const auto net = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> maxpool<2>() >>
                 conv2d<4, 1, 1, padding::same, false>() >> batch_norm() >> hard_vq<relu>() >>
                 global_avgpool() >> softmax_cross_entropy();

BOOST_AUTO_TEST_CASE(fused_plan) {
    const std::string d = describe(net);
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("plan (fuse::all): input<2, 4, 4>, 3 kernels") != std::string::npos);
    BOOST_CHECK(d.find("kernel 0: conv2d<3, 3, stride 1, same> → beta_vq<relu>(β = 0.9) → "
                       "maxpool<2>   [2×4×4 → 3×2×2]") != std::string::npos);
    // Kernel 0 pools on the GEMM's register tiles where a tile holds whole 2×2 windows
    // (AVX-512), else on each plane after one pass over z; this build's answer:
    constexpr plan::tile_plan tiles = plan::tiles<std::decay_t<decltype(net)>, fuse::all_t, 0>();
    if constexpr (tiles.window)
        BOOST_CHECK(d.find("z = W·x (GEMM), and on each finished register tile: bias, "
                           "beta_vq<relu>(β = 0.9), then maxpool<2> over the tile's windows") !=
                    std::string::npos);
    else
        BOOST_CHECK(d.find("one pass over z: bias, beta_vq<relu>(β = 0.9), then maxpool<2> on "
                           "each plane") != std::string::npos);
    BOOST_CHECK(tiles.chain == tiles.window); // a window that does not fit keeps the chain off
    BOOST_CHECK(d.find("batch-norm correction") != std::string::npos);
    // Kernel 1 gathers its batch statistics on the tiles in training; the global pooling
    // joins the batch-norm group but not the tiles.
    BOOST_CHECK(d.find("kernel 1: conv2d<4, 1, stride 1, same, no bias> → batch_norm(momentum = "
                       "0.1, eps = 1e-05) → hard_vq<relu> → global_avgpool") != std::string::npos);
    BOOST_CHECK(d.find("in training, z = W·x (GEMM), and on each finished register tile: z stored "
                       "and its batch statistics gathered; then one pass over z: batch-norm "
                       "apply, hard_vq<relu>, then global_avgpool on each plane") !=
                std::string::npos);
    BOOST_CHECK(d.find("kernel 2: softmax_cross_entropy") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tiles_on_the_register_tiles) {
    // A convolution with units and no window runs them on its tiles on every ISA.
    const auto units = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> flatten() >>
                       softmax_cross_entropy();
    static_assert(plan::tiles<std::decay_t<decltype(units)>, fuse::all_t, 0>().chain);
    BOOST_CHECK(describe(units).find("z = W·x (GEMM), and on each finished register tile: bias, "
                                     "beta_vq<relu>(β = 0.9)") != std::string::npos);
    // Not with fuse::none, nor with a window the tiles cannot hold.
    static_assert(!plan::tiles<std::decay_t<decltype(units)>, fuse::none_t, 0>().chain);
    static_assert(!plan::tiles<std::decay_t<decltype(net)>, fuse::all_t, 1>().chain);
}

BOOST_AUTO_TEST_CASE(batch_norm_on_the_register_tiles) {
    // With a batch norm the chain joins the tiles in evaluation, and in training the
    // tiles gather the batch statistics before one pass applies the chain.
    const auto normed = input<2, 4, 4>() >> conv2d<3, 3>() >> batch_norm() >> beta_vq<relu>(0.9f) >>
                        flatten() >> softmax_cross_entropy();
    constexpr plan::tile_plan t = plan::tiles<std::decay_t<decltype(normed)>, fuse::all_t, 0>();
    static_assert(t.chain && t.statistics && !t.window);
    const std::string d = describe(normed);
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("forward:  in training, z = W·x (GEMM), and on each finished register "
                       "tile: z += bias, z stored and its batch statistics gathered; then one "
                       "pass over z: batch-norm apply, beta_vq<relu>(β = 0.9)\n") !=
                std::string::npos);
    BOOST_CHECK(d.find("in evaluation (the running statistics), z = W·x (GEMM), and on each "
                       "finished register tile: z += bias, batch-norm apply, beta_vq<relu>(β = "
                       "0.9)\n") != std::string::npos);
    BOOST_CHECK(d.find("batch-norm correction; bias gradient") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(batch_norm_heading_a_kernel) {
    // Without a contraction in front, its statistics are of its input x.
    const auto headed = input<2, 4, 4>() >> conv2d<3, 3>() >> beta_vq<relu>(0.9f) >> batch_norm() >>
                        global_avgpool() >> softmax_cross_entropy();
    const std::string d = describe(headed);
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("forward:  batch statistics of x; one pass over x: batch-norm apply, then "
                       "global_avgpool on each plane\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(maxout_closes_the_group) {
    // maxout<R> is a contraction's channel window (a convolution's or a dense layer's):
    // over each R rows of the tiles when R divides their 6 rows, else a pass over z.
    const auto tiled = input<2, 4, 4>() >> conv2d<6, 3>() >> beta_vq<relu>(0.9f) >> maxout<2>() >>
                       conv2d<8, 3>() >> maxout<4>(learnable(0.7f)) >> flatten() >> dense<6>() >>
                       maxout<3>() >> softmax_cross_entropy();
    using N = std::decay_t<decltype(tiled)>;
    static_assert(plan::tiles<N, fuse::all_t, 0>().window &&
                  !plan::tiles<N, fuse::all_t, 1>().chain &&
                  plan::tiles<N, fuse::all_t, 3>().window);
    const std::string d = describe(tiled);
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("plan (fuse::all): input<2, 4, 4>, 5 kernels") != std::string::npos);
    BOOST_CHECK(d.find("forward:  z = W·x (GEMM), and on each finished register tile: bias, "
                       "beta_vq<relu>(β = 0.9), then maxout<2> over each 2 rows of the tile\n") !=
                std::string::npos);
    BOOST_CHECK(d.find("backward: one pass over (z, dy): maxout<2> backward across each recomputed "
                       "group of 2 channels, then recompute bias, beta_vq<relu>(β = 0.9) in "
                       "registers") != std::string::npos);
    BOOST_CHECK(d.find("forward:  z = W·x (GEMM); one pass over z: bias, then maxout<4>(β = 0.7, "
                       "learnable) across each group of 4 channels\n") != std::string::npos);
    BOOST_CHECK(d.find("kernel 3: dense<6> → maxout<3>   [32 → 2]") != std::string::npos);
    BOOST_CHECK(d.find("forward:  z = W·x (GEMM), and on each finished register tile: bias, "
                       "then maxout<3> over each 3 rows of the tile\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_dense_layers_units_run_as_a_pass) {
    // z of a dense layer is small: its units run after the GEMM (plan/tiles.hpp),
    // a convolution's on the tiles.
    const std::string d = describe(input<12>() >> dense<8>() >> beta_vq<relu>(0.9f) >> dense<4>() >>
                                   softmax_cross_entropy());
    BOOST_TEST_MESSAGE(d);
    BOOST_CHECK(d.find("forward:  z = W·x (GEMM); one pass over z: bias, beta_vq<relu>(β = "
                       "0.9)\n") != std::string::npos);
    BOOST_CHECK(d.find("on each finished register tile: bias, beta_vq") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_input_as_the_first_node_reads_it) {
    const std::string conv = describe(input<3, 8, 8>() >> conv2d<4, 5>() >> flatten());
    BOOST_CHECK(conv.find("  input: [N][C][H][W] → channel-major, zero-padded by 2 for conv2d<4, "
                          "5, stride 1, same> in the same pass (it pads nothing)\n") !=
                std::string::npos);
    const std::string flat = describe(input<12>() >> dense<3>(), fuse::none);
    BOOST_CHECK(flat.find("  input: kept as given, [N][12]: dense<3> reads it as the transposed "
                          "operand of its products\n") != std::string::npos);
    const std::string pooled = describe(input<3, 8, 8>() >> maxpool<2>() >> flatten());
    BOOST_CHECK(pooled.find("input:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(unfused_plan) {
    const std::string d = describe(net, fuse::none);
    BOOST_CHECK(d.find("8 kernels") != std::string::npos);
    BOOST_CHECK(d.find("the node's own pass (window)") != std::string::npos);
}

// A layer with an orthogonality constraint: its name carries the tag, and an "ortho:" line
// says what it does once per step, fused or not; a layer without one has no such line.
BOOST_AUTO_TEST_CASE(orthogonality_paths) {
    const auto constrained = input<3, 8, 8>() >> conv2d<8, 3, ortho::penalty<>>({.lambda = 0.5}) >>
                             hard_vq<relu>() >> conv2d<16, 3, ortho::gram_schmidt<>, 2>() >>
                             hard_vq<relu>() >> global_avgpool() >>
                             dense<4, ortho::cholesky_qr>() >> softmax_cross_entropy();
    for (const std::string& d : {describe(constrained), describe(constrained, fuse::none)}) {
        BOOST_TEST_MESSAGE(d);
        BOOST_CHECK(d.find("conv2d<8, 3, stride 1, same, ortho::penalty<off_diagonal>>") !=
                    std::string::npos);
        BOOST_CHECK(d.find("      ortho:    ortho::penalty<off_diagonal>(λ = 0.5) on W[8][27]: "
                           "before forward (training), G = W·Wᵀ (GEMM) and λ·P(W) added to the "
                           "loss; after backward, dW += λ·∂P/∂W from the same G") !=
                    std::string::npos);
        BOOST_CHECK(d.find("      ortho:    ortho::gram_schmidt<classical> on W[16][72]: before "
                           "forward, V = GS(W), classical Gram–Schmidt, unnormalised") !=
                    std::string::npos);
        BOOST_CHECK(d.find("      ortho:    ortho::cholesky_qr on W[4][16]: before forward, V = "
                           "the Q of W = L·Q by CholeskyQR2 (GEMM)") != std::string::npos);
    }
    BOOST_CHECK(describe(net).find("ortho:") == std::string::npos);
}
