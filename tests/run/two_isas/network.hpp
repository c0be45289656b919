// tests/run/two_isas/network.hpp — one network, run by translation units built for two
// instruction sets (narrow.cpp: AVX2, wide.cpp: AVX-512) and linked into one test.
#pragma once

#include <string>
#include <vector>

namespace two_isas {

/// What one translation unit's model computed: its type's name, the output, every
/// parameter gradient and the input gradient.
struct result {
    std::string model_type;
    std::vector<float> output, gradients, input_gradient;
};

result run_narrow(); // built with AVX2
result run_wide();   // built with AVX-512

} // namespace two_isas

// Defined only where the network is instantiated (narrow.cpp, wide.cpp).
#ifdef MASO_TWO_ISAS_NETWORK
#include <maso/maso.hpp>

#include <type_traits>
#include <typeinfo>

namespace two_isas {

/// conv → batch norm → learned swish → 2×2 softpool → dense → loss: the tile epilogue,
/// the statistics epilogue and a window, whose choice depends on the ISA. The convolution
/// computes with the CholeskyQR2 Q of its filters and the dense layer's weight is penalised:
/// the orthogonality kernels (ortho/), which a layer builds for its Arch too.
inline const auto net =
    maso::input<3, 12, 12>() >> maso::conv2d<8, 3, maso::ortho::cholesky_qr>() >>
    maso::batch_norm() >> maso::beta_vq<maso::relu>(maso::learnable_per_channel(0.6f)) >>
    maso::softpool<2>(maso::learnable(0.7f)) >> maso::flatten() >>
    maso::dense<4, maso::ortho::penalty<>>() >> maso::softmax_cross_entropy();

/// One training step of the network on fixed data, with kernels built for Arch. The
/// function is a template of Arch for the same reason the model is: an inline function
/// defined alike in both translation units would be one symbol, and the linker would keep
/// one unit's copy for both.
template <class Arch>
result run_on() {
    maso::model<std::decay_t<decltype(net)>, maso::fuse::all_t, float, Arch> m(net, 3,
                                                                             {.seed = 11});
    m.enable_input_gradient();
    using In = typename decltype(m)::input_shape;
    std::vector<float> x(In::size * 3);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = float((i * 37 % 101) / 50.0 - 1.0);
    m.forward(x, std::vector<int>{0, 3, 1});
    m.backward();
    result r;
    r.model_type = typeid(decltype(m)).name();
    r.output.assign(m.output().data, m.output().data + m.output().size());
    r.gradients.assign(m.gradients().begin(), m.gradients().end());
    r.input_gradient.assign(m.input_gradient().data,
                            m.input_gradient().data + m.input_gradient().size());
    return r;
}

} // namespace two_isas
#endif
