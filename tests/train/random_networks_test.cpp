// expect_gradients on random networks of 2–8 layers, fused against unfused.
//
// The networks are drawn at compile time from a seed: each step picks a node
// that fits the current shape (a convolution, a unit in any inference mode, a
// pooling, batch norm, maxout, flatten on maps; dense, units, soft outputs on
// vectors), then a classifier head closes the network. A failure names the
// seed, so the network can be rebuilt and printed with describe().
#include <maso/maso.hpp>

#include <maso_test/expect_gradients.hpp>

using namespace maso;

constexpr unsigned next(unsigned s) { return s * 1664525u + 1013904223u; }

template <unsigned Seed, int Depth, class Net>
auto grow(Net net) {
    using S = typename Net::output_shape;
    constexpr unsigned r = (Seed >> 16) % 10;
    constexpr unsigned s = Seed >> 8;
    if constexpr (Depth == 0) {
        if constexpr (S::is_vector)
            return net >> dense<3>() >> softmax_cross_entropy();
        else
            return net >> global_avgpool() >> softmax_cross_entropy();
    } else if constexpr (S::is_vector) {
        if constexpr (r < 3)
            return grow<next(Seed), Depth - 1>(net >> dense<2 + s % 4>());
        else if constexpr (r < 5)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<relu>(learnable(0.6f)));
        else if constexpr (r < 6)
            return grow<next(Seed), Depth - 1>(net >> sigmoid(learnable_per_channel(0.5f)));
        else if constexpr (r < 7)
            return grow<next(Seed), Depth - 1>(net >> batch_norm());
        else if constexpr (r < 8)
            return grow<next(Seed), Depth - 1>(net >> hard_vq<absolute>());
        else
            return grow<next(Seed), Depth - 1>(net >> maso::tanh(0.7f));
    } else {
        constexpr bool halves = S::height % 2 == 0 && S::width % 2 == 0;
        if constexpr (r < 2) {
            constexpr std::size_t K = (s / 3) % 2 ? 3 : 1;
            constexpr std::size_t stride = (halves && (s / 7) % 3 == 0) ? 2 : 1;
            return grow<next(Seed), Depth - 1>(net >> conv2d<2 + s % 3, K, stride>());
        } else if constexpr (r == 2)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<relu>(learnable_per_channel(0.5f)));
        else if constexpr (r == 3)
            return grow<next(Seed), Depth - 1>(net >> beta_vq<absolute>(learnable(0.4f)));
        else if constexpr (r == 4 && halves)
            return grow<next(Seed), Depth - 1>(net >> softpool<2>(learnable(0.6f)));
        else if constexpr (r == 5 && halves)
            return grow<next(Seed), Depth - 1>(net >> maxpool<2>());
        else if constexpr (r == 6)
            return grow<next(Seed), Depth - 1>(net >> batch_norm());
        else if constexpr (r == 7 && S::channels % 2 == 0)
            return grow<next(Seed), Depth - 1>(net >> maxout<2>());
        else if constexpr (r == 8)
            return grow<next(Seed), Depth - 1>(net >> flatten());
        else if constexpr (r == 9 && halves)
            return grow<next(Seed), Depth - 1>(net >> avgpool<2>());
        else
            return grow<next(Seed), Depth - 1>(net >> hard_vq<leaky_relu>(leaky_relu{0.2}));
    }
}

template <unsigned Seed>
void check_random_network() {
    constexpr int depth = int(Seed % 7); // 0–6 drawn layers + a 1–2 layer head
    const auto net = grow<next(Seed * 2654435761u), depth>(maso::detail::start(input<2, 4, 4>()));
    BOOST_TEST_MESSAGE("seed " << Seed << ":\n" << describe(net));
    BOOST_TEST_CONTEXT("seed " << Seed) maso_test::expect_gradients(net, {.seed = Seed});
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
    check_random_network<13>();
    check_random_network<20>();
}
BOOST_AUTO_TEST_CASE(seeds_9_to_12) {
    check_random_network<27>();
    check_random_network<34>();
    check_random_network<41>();
    check_random_network<48>();
}
