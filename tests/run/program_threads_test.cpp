// Tests of include/maso/run/program.hpp, built once per ISA: the threaded products
// and per-channel passes give bitwise the same results at every thread count, fused and
// unfused (fuse::none runs every layer's own pass on the pool's threads: the parameter
// gradients a layer's channels share are staged and committed in channel order).
#include <maso/maso.hpp>

#include <maso_test/fused_vs_unfused.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <type_traits>
#include <vector>

using namespace maso;

namespace {

using maso_test::thread_count_guard;

template <class T, class Net, class Policy = fuse::all_t>
void check_threads_bitwise(const Net& n, Policy = {}) {
    constexpr std::size_t batch = 4;
    using M = model<Net, Policy, T>;
    const auto x = maso_test::uniform_vector<T>(M::input_shape::size * batch, -1.5, 1.5);
    const std::vector<int> labels{1, 4, 7, 2};
    struct result {
        T loss;
        std::vector<T> out, grads, dx, state, eval_out;
    };
    auto run = [&](std::size_t threads) {
        set_num_threads(threads);
        M m(n, batch, {.seed = 11});
        m.enable_input_gradient();
        result r;
        r.loss = m.forward(x, labels);
        m.backward();
        const auto o = m.output();
        const auto dx = m.input_gradient();
        r.out.assign(o.data, o.data + o.size());
        r.grads.assign(m.gradients().begin(), m.gradients().end());
        r.dx.assign(dx.data, dx.data + dx.size());
        r.state.assign(m.program().state().begin(), m.program().state().end());
        m.set_mode(mode::evaluation); // a batch norm then runs its whole chain on the tiles
        m.forward(x, labels);
        r.eval_out.assign(m.output().data, m.output().data + m.output().size());
        return r;
    };
    thread_count_guard guard;
    const result one = run(1);
    BOOST_CHECK(std::any_of(one.grads.begin(), one.grads.end(), [](T g) { return g != T(0); }));
    for (std::size_t threads : {2, 3}) {
        BOOST_TEST_CONTEXT(threads << " threads") {
            const result r = run(threads);
            BOOST_CHECK_EQUAL(r.loss, one.loss); // bitwise: exact equality
            BOOST_CHECK(r.out == one.out);
            BOOST_CHECK(r.grads == one.grads);
            BOOST_CHECK(r.dx == one.dx);
            BOOST_CHECK(r.state == one.state); // batch statistics gathered on the tiles
            BOOST_CHECK(r.eval_out == one.eval_out);
            for (std::size_t i = 0; i < r.grads.size(); ++i)
                if (r.grads[i] != one.grads[i]) {
                    BOOST_TEST_MESSAGE("first differing parameter gradient " << i);
                    break;
                }
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(threads_give_bitwise_equal_results) {
    // conv2d<16, 3> on 8×16×16 at batch 4: every product of the convolution is
    // 16·72·1024 ≥ 2^20 multiply-adds, so the GEMMs split across the threads, and the
    // per-channel passes (tile epilogue, backward, staged β and η sums) do too.
    const auto big = input<8, 16, 16>() >> conv2d<16, 3>() >> beta_vq<relu>(learnable(0.6f)) >>
                     softpool<2>(learnable(0.7f)) >> flatten() >> dense<10>() >>
                     softmax_cross_entropy();
    check_threads_bitwise<float>(big);
    check_threads_bitwise<double>(big);
    // Units without pooling: the per-channel chain pass and its staged sums.
    const auto units = input<8, 16, 16>() >> conv2d<16, 3>() >>
                       beta_vq<relu>(learnable_per_channel(0.6f)) >> global_avgpool() >>
                       softmax_cross_entropy();
    BOOST_TEST_CONTEXT("units") check_threads_bitwise<float>(units);
    // A batch-norm group: its statistics from tiles split across the threads.
    const auto normed = input<8, 16, 16>() >> conv2d<16, 3>() >> batch_norm() >>
                        beta_vq<relu>(learnable(0.6f)) >> maxpool<2>() >> flatten() >>
                        dense<10>() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("batch norm") check_threads_bitwise<float>(normed);
    // In training its window runs plane by plane, the channels split among the threads
    // when each has its own β (per channel), on the caller when they share one.
    const auto normed_soft = input<8, 16, 16>() >> conv2d<16, 3>() >> batch_norm() >>
                             softpool<2>(learnable_per_channel(0.7f)) >> flatten() >> dense<10>() >>
                             softmax_cross_entropy();
    BOOST_TEST_CONTEXT("batch norm, softpool") check_threads_bitwise<float>(normed_soft);
    // maxout<3> closing a batch-norm group: in training a pass per output channel after
    // the tiles' statistics, in evaluation on the tiles; its per-channel η sums and the
    // chain's β sums staged and committed in channel order.
    const auto normed_maxout =
        input<8, 16, 16>() >> conv2d<24, 3>() >> batch_norm() >> beta_vq<relu>(learnable(0.6f)) >>
        maxout<3>(learnable_per_channel(0.7f)) >> global_avgpool() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("batch norm, maxout") check_threads_bitwise<float>(normed_maxout);
    // Dense layers of 1024·512 weights at batch 4 (2^21 multiply-adds): the GEMMs split
    // by rows (units), the batch being narrower than two tiles.
    const auto mlp = input<1024>() >> dense<512>() >> batch_norm() >>
                     beta_vq<relu>(learnable_per_channel(0.6f)) >> dense<12>() >>
                     maxout<2>(learnable(0.7f)) >> dense<10>() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("dense") check_threads_bitwise<float>(mlp);
}

BOOST_AUTO_TEST_CASE(unfused_threads_give_bitwise_equal_results) {
    // Every layer's own pass, its channels split among the threads: β shared by the layer
    // (beta_vq, softpool, sigmoid, maxout, global_softpool learnable per layer), per channel,
    // batch norm's statistics and backward, the conv and dense biases.
    const auto convs = input<8, 16, 16>() >> conv2d<16, 3>() >> beta_vq<relu>(learnable(0.6f)) >>
                       softpool<2>(learnable(0.7f)) >> batch_norm() >>
                       maso::sigmoid(learnable(0.5f)) >> maxpool<2>() >> conv2d<12, 3>() >>
                       maxout<3>(learnable(0.7f)) >> global_softpool(learnable(0.4f)) >>
                       dense<10>() >> softmax_cross_entropy();
    check_threads_bitwise<float>(convs, fuse::none);
    check_threads_bitwise<double>(convs, fuse::none);
    const auto per_channel = input<6, 12, 12>() >> avgpool<2>() >> conv2d<8, 1>() >>
                             beta_vq<relu>(learnable_per_channel(0.6f)) >> batch_norm() >>
                             maso::tanh(learnable_per_channel(0.6f)) >>
                             softpool<3>(learnable_per_channel(0.4f)) >> global_avgpool() >>
                             dense<10>() >> softmax_cross_entropy();
    BOOST_TEST_CONTEXT("per channel") check_threads_bitwise<float>(per_channel, fuse::none);
    const auto mlp = input<64>() >> dense<48>() >> batch_norm() >> beta_vq<relu>(learnable(0.6f)) >>
                     dense<12>() >> maxout<2>(learnable(0.7f)) >> dense<10>() >>
                     softmax_cross_entropy();
    BOOST_TEST_CONTEXT("dense") check_threads_bitwise<float>(mlp, fuse::none);
}
