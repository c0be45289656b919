// Tests of include/maso/run/trace.hpp and of the promise in plan/kernel_plan.hpp, built once
// per ISA with MASO_TRACE_KERNELS: the kernels that run are the ones describe() prints.
//
// Each network below runs forward and backward in training and in evaluation, fused and
// unfused; the runtime records every kernel it runs; for each group the recorded names must
// be, in order, the ones describe() prints on the group's "kernels:" lines. The networks
// cover every path of the plan: batch-norm groups (statistics on the tiles in training, the
// whole chain on them in evaluation), pooling on the tiles and on planes, maxout on the tiles
// and as a pass, dense layers, a group without a contraction, a bare product and the nodes
// that fuse with nothing.
#include <maso/maso.hpp>

#include "../../dsl_examples/large_cnn.hpp"

#include <maso_test/check.hpp>
#include <maso_test/isa.hpp>

#include <sstream>
#include <string>
#include <vector>

using namespace maso;

namespace {

/// The names on the "kernels:" lines of kernel k in describe()'s text: forward and backward
/// in training, and in evaluation (the same when describe prints no evaluation line).
struct printed {
    std::vector<std::string> forward, backward, eval_forward, eval_backward;
};

std::vector<std::string> names_after(const std::string& line, const std::string& key) {
    std::vector<std::string> out;
    const std::size_t at = line.find(key);
    if (at == std::string::npos) return out;
    std::string rest = line.substr(at + key.size());
    rest = rest.substr(0, rest.find(';'));
    std::istringstream in(rest);
    for (std::string n; std::getline(in, n, ',');) {
        n.erase(0, n.find_first_not_of(' '));
        out.push_back(n);
    }
    return out;
}

std::vector<printed> printed_kernels(const std::string& plan) {
    std::vector<printed> out;
    std::istringstream in(plan);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("  kernel ", 0) == 0) out.emplace_back();
        if (line.find("kernels:  forward ") != std::string::npos) {
            out.back().forward = out.back().eval_forward = names_after(line, "forward ");
            out.back().backward = out.back().eval_backward = names_after(line, "backward ");
        }
        if (line.find("in evaluation: forward ") != std::string::npos) {
            out.back().eval_forward = names_after(line, "forward ");
            out.back().eval_backward = names_after(line, "backward ");
        }
    }
    return out;
}

/// The names the runtime recorded for group k, forward or backward.
std::vector<std::string> traced(std::size_t k, bool backward) {
    std::vector<std::string> out;
    for (const auto& e : run::kernel_trace())
        if (e.group == k && e.backward == backward) out.push_back(e.kernel);
    return out;
}

template <class Net, class Policy>
void expect_traced_as_described(const Net& net, Policy policy, std::size_t batch) {
    const auto groups = printed_kernels(describe(net, policy));
    auto m = instantiate(net, batch, policy, {.seed = 3});
    using M = decltype(m);
    const auto x = maso_test::uniform_vector<float>(M::input_shape::size * batch, -1, 1);
    std::vector<int> labels(batch);
    for (std::size_t n = 0; n < batch; ++n)
        labels[n] = int(n % M::output_shape::channels);
    const auto dy = maso_test::uniform_vector<float>(M::output_shape::size * batch, -1, 1);
    BOOST_REQUIRE_EQUAL(groups.size(), M::program_type::groups.size());
    for (const mode phase : {mode::training, mode::evaluation}) {
        m.set_mode(phase);
        run::kernel_trace().clear();
        if constexpr (M::has_loss) {
            m.forward(x, labels);
            m.backward();
        } else {
            m.forward(x);
            m.backward(dy);
        }
        const bool eval = phase == mode::evaluation;
        for (std::size_t k = 0; k < groups.size(); ++k)
            BOOST_TEST_CONTEXT((eval ? "evaluation" : "training") << ", kernel " << k) {
                BOOST_TEST(traced(k, false) == (eval ? groups[k].eval_forward : groups[k].forward),
                           boost::test_tools::per_element());
                BOOST_TEST(traced(k, true) ==
                               (eval ? groups[k].eval_backward : groups[k].backward),
                           boost::test_tools::per_element());
            }
    }
}

template <class Net>
void expect_both_policies(const Net& net, std::size_t batch) {
    BOOST_TEST_CONTEXT("fuse::all") { expect_traced_as_described(net, fuse::all, batch); }
    BOOST_TEST_CONTEXT("fuse::none") { expect_traced_as_described(net, fuse::none, batch); }
}

} // namespace

BOOST_AUTO_TEST_CASE(large_cnn_runs_what_it_prints) {
    expect_both_policies(maso_examples::large_cnn, 2);
}

BOOST_AUTO_TEST_CASE(pooling_on_tiles_and_on_planes) {
    // 2×2 pooling fits every ISA's tiles; 3×3 never does (NR is not a multiple of 9).
    const auto net = input<3, 6, 6>() >> conv2d<4, 3>() >> beta_vq<relu>(learnable(0.5f)) >>
                     softpool<2>(learnable(0.5f)) >> conv2d<6, 1, 1, padding::same, false>() >>
                     batch_norm() >> maxpool<3>() >> flatten() >> dense<3>() >>
                     softmax_cross_entropy();
    expect_both_policies(net, 3);
}

BOOST_AUTO_TEST_CASE(channel_windows_dense_groups_and_lone_nodes) {
    // maxout<2> divides the tile's 6 rows, maxout<4> does not; a batch norm and units after
    // a flatten have no contraction; a dense layer without bias or units is a bare product.
    const auto net = input<2, 4, 4>() >> conv2d<8, 3>() >> maxout<2>() >>
                     conv2d<8, 3>() >> soft_vq<absolute>() >> maxout<4>() >> flatten() >>
                     batch_norm() >> soft_vq<relu>() >> dense<5, false>() >> dense<4>() >>
                     batch_norm() >> beta_vq<relu>(0.7f) >> dense<3>() >> maso::sigmoid();
    expect_both_policies(net, 4);
}
