// Tests of docs/checkpoints-and-optimisers.md: its examples, built and run as the page shows
// them (tests/docs/quotes_test.cpp checks that the page quotes these lines), on a small network
// in a scratch directory.
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include <maso_test/thread_count_guard.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <random>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

/// A network small enough that the page's 50 500 steps take a moment.
const auto net = maso::input<4>() >>
                 maso::dense<3>() >> maso::beta_vq<maso::relu>(maso::learnable(0.5f)) >>
                 maso::dense<2>() >> maso::softmax_cross_entropy();

/// Runs a test in a directory of its own, removed at the end.
struct scratch_directory {
    std::filesystem::path before = std::filesystem::current_path();
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("maso_docs_checkpoints_" + std::to_string(::getpid()));
    scratch_directory() {
        std::filesystem::create_directories(path);
        std::filesystem::current_path(path);
    }
    ~scratch_directory() {
        std::filesystem::current_path(before);
        std::filesystem::remove_all(path);
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_run_saved_and_resumed) {
    const scratch_directory dir;
    // One thread: on a network this small, handing each step to the pool costs more than the
    // step, and 50 500 of them would take most of a minute on a busy machine.
    const maso_test::thread_count_guard restore;
    maso::set_num_threads(1);
    std::vector<float> images(50 * 4);
    std::vector<int> labels(50);
    for (std::size_t i = 0; i < images.size(); ++i)
        images[i] = float(i % 7) / 7.f - 0.5f;
    for (std::size_t n = 0; n < labels.size(); ++n)
        labels[n] = int(n % 2);
    std::vector<float> trained;
    {
        // Quoted by docs/checkpoints-and-optimisers.md as it is:
        // clang-format off
        auto model = maso::instantiate(net, 50);
        maso::adam opt(model, {.learning_rate = 1e-3, .bias_correction = false}); // the paper's
        const maso::schedule lr = maso::linear_warmup(500, maso::cosine_lr(1e-3, 50'000));
        std::mt19937_64 rng(1);

        for (std::uint64_t step = 0; step < 50'500; ++step) {
            // … images and labels for this step, drawn with rng …
            model.zero_gradients();
            model.forward(images, labels);
            model.backward();
            maso::clip_gradient_norm(model, 5.0);          // optional
            opt.set_learning_rate(lr(opt.step_count()));   // optional: a schedule
            opt.step();
            if ((step + 1) % 1000 == 0)
                maso::io::save_checkpoint("run.safetensors", model, opt,
                                          {.step = step + 1,
                                           .random_state = maso::io::random_state_text(rng)});
        }
        // clang-format on
        BOOST_TEST(opt.step_count() == 50'500u);
        trained.assign(model.parameters().begin(), model.parameters().end());
    }
    std::mt19937_64 rng(2); // another state: the checkpoint restores the saved one
    {
        // Quoted by docs/checkpoints-and-optimisers.md as it is:
        // clang-format off
        auto model = maso::instantiate(net, 50);          // any seed: everything is loaded
        maso::adam opt(model, {.learning_rate = 1e-3, .bias_correction = false});
        const auto st = maso::io::load_checkpoint("run.safetensors", model, opt);
        maso::io::restore_random_state(rng, st.random_state);
        for (std::uint64_t step = st.step; step < 50'500; ++step) { /* as before */ }
        // clang-format on
        BOOST_TEST(st.step == 50'000u); // the last save
        BOOST_TEST(opt.step_count() == 50'000u);
        BOOST_TEST(model.parameters().size() == trained.size());
    }
    std::mt19937_64 straight(1);
    BOOST_TEST(rng() == straight());
}

BOOST_AUTO_TEST_CASE(a_safetensors_file_of_your_own) {
    const scratch_directory dir;
    std::vector<float> values(1600);
    for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = float(i) * 0.5f;
    // Quoted by docs/checkpoints-and-optimisers.md as it is:
    // clang-format off
    maso::io::safetensors_writer w;
    w.add("embedding", {100, 16}, std::span<const float>(values));  // float: F32, double: F64
    w.set_metadata("source", "maso");
    w.write("x.safetensors");                                        // atomically

    const auto f = maso::io::read_safetensors("x.safetensors");      // checked, or file_error
    for (const maso::io::tensor_info& t : f.tensors())               // in data order
        std::cout << t.name << " " << to_string(t.dtype) << " " << maso::io::shape_string(t.shape)
                  << "\n";
    std::vector<float> out(1600);
    f.read(*f.find("embedding"), std::span(out));                    // F32 → float, F64 → double
    // clang-format on
    BOOST_TEST(out == values);
    BOOST_TEST(f.metadata().at("source") == "maso");
}
