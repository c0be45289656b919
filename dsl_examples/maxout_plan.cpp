// The plan of a network whose maxouts close its kernels (docs/fusion-planner.md): maxout<2>
// over the rows of a convolution's register tiles, maxout<4> (4 does not divide the tiles' 6
// rows) as a pass over z, and maxout<3> over the rows of a dense layer's tiles. It prints
// describe() only: nothing is instantiated.
#include <maso/maso.hpp>

#include <iostream>

using namespace maso;

const auto net = input<2, 4, 4>() >> conv2d<6, 3>() >> beta_vq<relu>(0.9f) >> maxout<2>() >>
                 conv2d<8, 3>() >> maxout<4>(learnable(0.7f)) >>
                 flatten() >> dense<6>() >> maxout<3>() >> softmax_cross_entropy();

int main() { std::cout << describe(net); }
