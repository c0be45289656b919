// maso against libtorch on random networks of 3–9 nodes (expect_same_as_torch.hpp).
//
// Drawn at compile time from a seed, as tests/train/random_networks_test.cpp draws them: each
// step picks a node that fits the current shape — on maps a convolution (same or valid,
// stride 1 or 2, with or without bias), a β-VQ unit (fixed, learnable, per channel, hard), a
// max, average or β-softmax pooling, batch norm, maxout (hard or β), flatten; on vectors a
// dense layer, a unit, sigmoid, tanh, batch norm — then a head closes the network: global
// average or softmax pooling on a map, then a dense layer and the loss, or a softmax without
// loss. A failure names the seed; describe() of the network is in the log (--log_level=message).
#include "expect_same_as_torch.hpp"

using namespace maso;
using maso_oracle::expect_same_as_torch;

constexpr unsigned next(unsigned s) { return s * 1664525u + 1013904223u; }

template <unsigned Seed, int Depth, class Net>
auto grow(Net net) {
    using S = typename Net::output_shape;
    constexpr unsigned r = (Seed >> 16) % 12;
    constexpr unsigned s = Seed >> 8;
    if constexpr (Depth == 0) {
        if constexpr (!S::is_vector && s % 3 == 0)
            return net >> global_softpool(learnable_per_channel(0.6f)) >> dense<3>() >>
                   softmax(learnable(0.5f));
        else if constexpr (!S::is_vector)
            return net >> global_avgpool() >> dense<4>() >> softmax_cross_entropy();
        else
            return net >> dense<3>() >> softmax_cross_entropy();
    } else if constexpr (S::is_vector) {
        if constexpr (r < 4)
            return grow<next(Seed), Depth - 1>(net >> dense<2 + s % 4, (s / 5) % 2 == 0>());
        else if constexpr (r < 6)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<relu>(learnable(0.6f)));
        else if constexpr (r < 7)
            return grow<next(Seed), Depth - 1>(net >> sigmoid(learnable_per_channel(0.5f)));
        else if constexpr (r < 8)
            return grow<next(Seed), Depth - 1>(net >> batch_norm());
        else if constexpr (r < 9)
            return grow<next(Seed), Depth - 1>(net >> hard_vq<absolute>());
        else if constexpr (r < 10)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<leaky_relu>(0.7f, leaky_relu{0.2}));
        else
            return grow<next(Seed), Depth - 1>(net >> maso::tanh(0.7f));
    } else {
        constexpr bool halves = S::height % 2 == 0 && S::width % 2 == 0;
        if constexpr (r < 3) {
            constexpr std::size_t K = (s / 3) % 2 ? 3 : 1;
            constexpr std::size_t stride = (halves && (s / 7) % 3 == 0) ? 2 : 1;
            constexpr bool valid = K == 3 && S::height >= 5 && S::width >= 5 && (s / 11) % 3 == 0;
            constexpr bool bias = (s / 13) % 2 == 0;
            return grow<next(Seed), Depth - 1>(net >> conv2d < 2 + s % 3, K, stride,
                                               valid ? padding::valid : padding::same, bias > ());
        } else if constexpr (r == 3)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<relu>(learnable_per_channel(0.5f)));
        else if constexpr (r == 4)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<absolute>(learnable(0.4f)));
        else if constexpr (r == 5 && halves)
            return grow<next(Seed), Depth - 1>(net >> softpool<2>(learnable(0.6f)));
        else if constexpr (r == 6 && halves)
            return grow<next(Seed), Depth - 1>(net >> maxpool<2>());
        else if constexpr (r == 7)
            return grow<next(Seed), Depth - 1>(net >> batch_norm());
        else if constexpr (r == 8 && S::channels % 2 == 0)
            return grow<next(Seed), Depth - 1>(net >> maxout<2>(learnable_per_channel(0.7f)));
        else if constexpr (r == 9 && S::channels % 3 == 0)
            return grow<next(Seed), Depth - 1>(net >> maxout<3>());
        else if constexpr (r == 10)
            return grow<next(Seed), Depth - 1>(net >> flatten());
        else if constexpr (r == 11 && halves)
            return grow<next(Seed), Depth - 1>(net >> avgpool<2>());
        else
            return grow<next(Seed), Depth - 1>(net >> beta_vq<relu>(0.9f));
    }
}

template <unsigned Seed>
void check_random_network() {
    constexpr int depth = 2 + int(Seed % 6); // 2–7 drawn nodes + a 1–3 node head
    const auto net = grow<next(Seed * 2654435761u), depth>(maso::detail::start(input<3, 6, 6>()));
    BOOST_TEST_MESSAGE("seed " << Seed << ":\n" << describe(net));
    BOOST_TEST_CONTEXT("seed " << Seed) {
        expect_same_as_torch(net, {.batch = 4, .seed = Seed});
        expect_same_as_torch(net, {.batch = 4, .seed = Seed, .mode = mode::evaluation});
    }
}

BOOST_AUTO_TEST_CASE(seeds_1_to_4) {
    check_random_network<1>();
    check_random_network<2>();
    check_random_network<3>();
    check_random_network<4>();
}
BOOST_AUTO_TEST_CASE(seeds_5_to_8) {
    check_random_network<5>();
    check_random_network<6>();
    check_random_network<7>();
    check_random_network<8>();
}
