// tests/oracle/torch_reference.hpp — a network described as plain data, run by libtorch.
//
// The oracle tests run one network in maso and in libtorch from identical weights and
// compare outputs and gradients. libtorch's headers cost ≈ 18 s per translation unit, so
// only torch_reference.cpp includes them: a test describes its network here (one
// node_spec per node, every tensor by its state-dict name with its values) and
// run_torch() builds the same computation from libtorch's own operators, runs it forward
// and backward through autograd, and hands back what maso is compared with. Nothing in
// this header depends on maso or on libtorch.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace maso_oracle {

enum class op {
    dense,
    conv2d,
    beta_vq,
    maxpool,
    avgpool,
    softpool,
    global_avgpool,
    global_softpool,
    maxout,
    batch_norm,
    flatten,
    sigmoid,
    tanh,
    softmax,
    softmax_cross_entropy,
};

/// The elementwise unit of a beta_vq node.
enum class unit { relu, leaky_relu, absolute };

/// A node's β. Fixed: η is `eta` (the value maso computes from its float β, in the
/// precision of the run). Learnable: η = e^θ with θ the tensor "<prefix>theta" (one value,
/// or one per channel). Hard: the max (β = 1), no η.
struct eta_spec {
    double eta = 1;
    bool learnable = false;
    bool per_channel = false;
    bool hard = false;
};

struct node_spec {
    op kind = op::dense;
    std::string prefix; ///< "<index>.<layer>.", the state-dict prefix of the node's tensors
    std::size_t out_channels = 0, kernel = 0, stride = 1, padding = 0; ///< dense, conv2d, pools
    bool bias = false;
    unit u = unit::relu;
    double slope = 0; ///< leaky_relu's a
    eta_spec beta;
    double momentum = 0.1, eps = 1e-5; ///< batch_norm
};

/// One tensor of the model, as model::state_dict() names and shapes it.
struct tensor_spec {
    std::string name;
    std::vector<std::size_t> shape;
    std::vector<double> value;
    bool trainable = true; ///< false for running statistics
};

struct problem {
    std::size_t batch = 0, channels = 0, height = 1, width = 1; ///< the input, NCHW
    std::vector<node_spec> nodes;                               ///< after the input node
    std::vector<tensor_spec> tensors;
    std::vector<double> input;  ///< [N][C][H][W]
    std::vector<int> labels;    ///< for a network ending in softmax_cross_entropy
    std::vector<double> weight; ///< without a loss node: L = Σ weight ⊙ output (NCHW)
    bool training = true;       ///< batch norm: batch statistics or running ones
    bool single = false;        ///< float instead of double
};

struct result {
    double loss = 0;                    ///< the mean cross-entropy, or Σ weight ⊙ output
    std::vector<double> output;         ///< [N][C][H][W] (probabilities for a loss node)
    std::vector<double> input_gradient; ///< [N][C][H][W]
    std::map<std::string, std::vector<double>> gradients; ///< every trainable tensor
    std::map<std::string, std::vector<double>> state;     ///< running statistics after forward
};

/// Runs the problem in libtorch; throws std::runtime_error for a spec it cannot build.
result run_torch(const problem& p);

/// "libtorch 1.13.1": what the reference is.
std::string torch_version();

} // namespace maso_oracle
