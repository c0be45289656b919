// Tests of include/maso/core/profile.hpp, in a build with MASO_PROFILE_KERNELS: entries are
// keyed by group, direction and name, and add up calls and FLOP; a part lands under the
// kernel whose scope encloses it and its time is taken out of that kernel's (exclusive
// times, which add up to at most the time spent); and a model's forward and backward file
// the kernels of its plan, the parts of its products with their FLOP, and its own passes
// under one group past the program's last.
#define MASO_PROFILE_KERNELS
#include <maso/core/profile.hpp>
#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace maso;

namespace {

const profile_entry* find(std::size_t group, bool backward, const char* name) {
    for (const profile_entry& e : kernel_profile().entries)
        if (e.group == group && e.backward == backward && std::strcmp(e.name, name) == 0) return &e;
    return nullptr;
}

} // namespace

BOOST_AUTO_TEST_CASE(parts_are_filed_under_their_kernel_and_taken_out_of_it) {
    kernel_profile().clear();
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (int call = 0; call < 2; ++call) {
        MASO_RUN_PROFILE(3, true, "outer", 10);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        {
            MASO_RUN_PROFILE_PART("inner", 5);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    const profile_entry* outer = find(3, true, "outer");
    const profile_entry* inner = find(3, true, "inner"); // the enclosing kernel's group
    BOOST_REQUIRE(outer && inner);
    BOOST_TEST(kernel_profile().entries.size() == 2u);
    BOOST_TEST(outer->calls == 2u);
    BOOST_TEST(inner->calls == 2u);
    BOOST_TEST(outer->flop == 20.0);
    BOOST_TEST(inner->flop == 10.0);
    BOOST_TEST(inner->seconds >= 0.004); // two sleeps of 2 ms
    BOOST_TEST(outer->seconds >= 0.002);
    BOOST_TEST(outer->seconds + inner->seconds <= elapsed); // exclusive: nothing twice
    BOOST_TEST(kernel_profile().open.empty());
}

BOOST_AUTO_TEST_CASE(a_models_step_files_every_kernel) {
    const auto net = input<2, 8, 8>() >> conv2d<4, 3, 1, padding::same, false>() >> batch_norm() >>
                     beta_vq<relu>(0.7f) >> maxpool<2>() >> flatten() >> dense<3>() >>
                     softmax_cross_entropy();
    auto m = instantiate(net, 4);
    using M = decltype(m);
    using P = typename M::program_type;
    const std::vector<float> x(4 * 2 * 8 * 8, 0.3f);
    const std::vector<int> labels{0, 1, 2, 0};
    m.forward(x, labels); // warm-up, not profiled
    kernel_profile().clear();
    m.forward(x, labels);
    m.backward();
    BOOST_TEST(kernel_profile().open.empty());
    // The model's own passes, one group past the program's.
    BOOST_TEST(M::model_passes == P::groups.size());
    BOOST_TEST(find(M::model_passes, false, "input") != nullptr);
    // The first kernel (convolution, batch norm, unit, pooling) in training: the statistics
    // product, the plane pass; backward the plane pass, the correction and the affine map.
    for (const char* name : {"statistics", "planes"})
        BOOST_TEST_CONTEXT(name) BOOST_TEST(find(0, false, name) != nullptr);
    for (const char* name : {"planes", "correction", "affine"})
        BOOST_TEST_CONTEXT(name) BOOST_TEST(find(0, true, name) != nullptr);
    BOOST_TEST(find(0, false, "statistics")->flop ==
               P::template layer_t<1>::product_flop(4)); // one product a forward
    // The convolution's group (0): its dW with the FLOP of one product, no dX (the input needs
    // no gradient); the dense layer's dW and dX.
    using conv_layer = typename P::template layer_t<1>;
    const profile_entry* dw = find(0, true, "dW");
    BOOST_REQUIRE(dw != nullptr);
    BOOST_TEST(dw->flop == conv_layer::product_flop(4));
    BOOST_TEST(find(0, true, "dX") == nullptr);
    std::size_t dense_dx = 0;
    for (const profile_entry& e : kernel_profile().entries)
        if (std::strcmp(e.name, "dX") == 0) ++dense_dx;
    BOOST_TEST(dense_dx == 1u);
}
