// Tests of include/maso/train/trainer.hpp, on a network small enough to train in a fraction of
// a second (and under the sanitizers): it learns a separable problem above 95% (and not a
// problem without signal), its learnable β moves, an interrupted run resumes bitwise, Ctrl-C
// finishes the step and saves, a non-finite loss names the step and the node, a step
// allocates nothing, and bad options are refused.
#include <maso/io.hpp>
#include <maso/maso.hpp>
#include <maso/train/trainer.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/count_allocations.hpp>
#include <maso_test/expect_gradients.hpp>
#include <maso_test/io_files.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace maso;
namespace io = maso::io;

namespace {

// Node 3 is the β-VQ unit (one θ per channel), node 6 the dense layer.
const auto net = input<1, 6, 6>() >> conv2d<4, 3>() >>
                 batch_norm() >> beta_vq<relu>(learnable_per_channel(0.5f)) >> maxpool<2>() >>
                 flatten() >> dense<4>() >> softmax_cross_entropy();
constexpr std::size_t batch = 20;

/// n images of 6×6: noise of deviation 0.5, plus 1 on the 3×3 quadrant of the image's class.
/// With `signal` false the labels say nothing about the images: nothing to learn.
io::dataset quadrants(std::size_t n, std::uint32_t seed, bool signal = true) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.f, 0.5f);
    std::vector<float> images(n * 36);
    std::vector<int> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        // Without signal, image i = 4k + c gets label (3c + k) mod 4: over the k, every label
        // as often with every pattern. The classes stay balanced for class-balanced batches.
        const int c = int(i % 4), k = int(i / 4);
        labels[i] = signal ? c : (3 * c + k) % 4;
        for (std::size_t y = 0; y < 6; ++y)
            for (std::size_t x = 0; x < 6; ++x)
                images[i * 36 + y * 6 + x] = noise(rng) + (int(y / 3 * 2 + x / 3) == c ? 1.f : 0.f);
    }
    return io::dataset(std::move(images), std::move(labels), {1, 6, 6}, 4, "quadrants");
}

using model_t = decltype(instantiate(net, batch));

/// Every tensor of the model (parameters and running statistics), in state_dict order.
std::vector<float> everything(model_t& m) {
    std::vector<float> v;
    for (const auto& t : m.state_dict())
        v.insert(v.end(), t.value.begin(), t.value.end());
    return v;
}

std::size_t lines_of(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);)
        ++n;
    return n;
}

/// What the resume test trains with: every option that moves the data or the update.
trainer_options full_options(std::ostream& out) {
    return {.epochs = 3,
            .order = io::sampling::class_balanced,
            .seed = 7,
            .augment = io::augment_options{.pad = 1, .flip = true},
            .learning_rate = linear_warmup(5, cosine_lr(0.02, 55)),
            .clip_norm = 5,
            .progress = {.style = progress_style::lines, .out = &out}};
}

} // namespace

BOOST_AUTO_TEST_CASE(learns_a_separable_problem_above_95_percent) {
    const io::dataset train = quadrants(400, 1), test = quadrants(200, 2);
    model_t model(net, batch, {.seed = 3});
    const evaluation before = evaluate(model, test.images(), test.labels());
    BOOST_TEST_MESSAGE("before training: " << 100 * before.accuracy << "%");
    BOOST_TEST(before.accuracy < 0.5);

    maso_test::temp_dir dir;
    std::ostringstream out;
    adam opt(model, {.learning_rate = 0.01, .bias_correction = false});
    trainer t(model, opt, train, test,
              {.epochs = 3,
               .order = io::sampling::class_balanced,
               .seed = 1,
               .csv = dir / "run.csv",
               .progress = {.style = progress_style::lines, .out = &out}});
    BOOST_TEST(t.steps_per_epoch() == 20u);
    const train_result r = t.fit();
    BOOST_TEST_MESSAGE(out.str());
    BOOST_TEST(!r.interrupted);
    BOOST_TEST(r.step == 60u);
    BOOST_REQUIRE(r.epochs.size() == 3u);
    BOOST_TEST(r.epochs.back().evaluated);
    BOOST_TEST(r.epochs.back().test_accuracy > 0.95);
    BOOST_TEST(r.epochs.back().train_accuracy > 0.9);
    BOOST_TEST(r.epochs.back().train_loss < r.epochs.front().train_loss);
    // The trainer's evaluation is evaluate()'s.
    BOOST_TEST(r.epochs.back().test_accuracy ==
               evaluate(model, test.images(), test.labels()).accuracy);
    BOOST_TEST(lines_of(dir / "run.csv") == 4u); // the header and three epochs
    BOOST_TEST(out.str().find("epoch 3/3: train loss") != std::string::npos);
    BOOST_TEST(r.checkpoint.empty());
    // Training leaves the model in training mode.
    BOOST_TEST(int(model.get_mode()) == int(mode::training));
    // Run again, it has nothing left to do.
    const train_result again = t.fit();
    BOOST_TEST(again.epochs.empty());
    BOOST_TEST(out.str().find("nothing to train: the run is at step 60 of 60") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(labels_without_signal_are_not_learned) {
    // The control of the test above: the same training on labels the images do not predict
    // stays near chance on the test set, so passing above is the network learning.
    const io::dataset train = quadrants(400, 1, false), test = quadrants(200, 2, false);
    model_t model(net, batch, {.seed = 3});
    adam opt(model, {.learning_rate = 0.01, .bias_correction = false});
    std::ostringstream out;
    trainer t(model, opt, train, test,
              {.epochs = 3,
               .order = io::sampling::class_balanced,
               .seed = 1,
               .progress = {.style = progress_style::none, .out = &out}});
    const train_result r = t.fit();
    BOOST_TEST(r.epochs.back().test_accuracy < 0.5);
    BOOST_TEST(out.str().empty());
}

BOOST_AUTO_TEST_CASE(beta_moves_under_training_and_its_gradient_checks) {
    const io::dataset train = quadrants(400, 1);
    model_t model(net, batch, {.seed = 3});
    const std::vector<float> theta0(model.parameters<3>().begin(), model.parameters<3>().end());
    BOOST_REQUIRE(theta0.size() == 4u);
    for (const float t : theta0)
        BOOST_TEST(t == 0.f); // β = ½
    adam opt(model, {.learning_rate = 0.01, .bias_correction = false});
    std::ostream sink(nullptr);
    trainer(model, opt, train, {.epochs = 2, .progress = {.out = &sink}}).fit();
    for (std::size_t c = 0; c < 4; ++c)
        BOOST_TEST(std::abs(model.parameters<3>()[c] - theta0[c]) > 1e-3f);
    // ∂L/∂θ (with every other gradient) against central differences, fused and unfused.
    maso_test::expect_gradients(net);
}

BOOST_AUTO_TEST_CASE(an_interrupted_run_resumes_bitwise) {
    const io::dataset train = quadrants(400, 1), test = quadrants(200, 2);
    maso_test::temp_dir dir;
    std::ostringstream out;

    // The run that never stops.
    model_t straight(net, batch, {.seed = 3});
    adam straight_opt(straight, {.learning_rate = 0.02, .bias_correction = false});
    const train_result a = trainer(straight, straight_opt, train, test, full_options(out)).fit();
    BOOST_REQUIRE(a.step == 60u);

    // Ctrl-C during step 24 (in the hook after it, step 4 of epoch 2): the loop stops there and
    // saves a checkpoint.
    {
        model_t model(net, batch, {.seed = 3});
        adam opt(model, {.learning_rate = 0.02, .bias_correction = false});
        trainer_options o = full_options(out);
        o.save = dir / "run.safetensors";
        o.csv = dir / "run.csv";
        o.on_step = [](const step_report& r) {
            if (r.global_step == 24) std::raise(SIGINT);
        };
        const train_result r = trainer(model, opt, train, test, o).fit();
        BOOST_TEST(r.interrupted);
        BOOST_TEST(r.step == 24u);
        BOOST_TEST(r.checkpoint == dir / "run.safetensors");
        BOOST_TEST(r.epochs.size() == 1u);
        BOOST_TEST(
            out.str().find("stopped by Ctrl-C after step 24 (epoch 2); checkpoint saved to " +
                           (dir / "run.safetensors").string()) != std::string::npos);
        // The handler that was there before is back.
        struct sigaction now {};
        ::sigaction(SIGINT, nullptr, &now);
        BOOST_TEST(now.sa_handler == SIG_DFL);
    }

    // A new process, as it were: another initialisation, overwritten by the checkpoint.
    model_t model(net, batch, {.seed = 99});
    adam opt(model, {.learning_rate = 0.02, .bias_correction = false});
    trainer_options o = full_options(out);
    o.save = dir / "run.safetensors";
    o.csv = dir / "run.csv";
    trainer t(model, opt, train, test, o);
    const io::checkpoint_state st = t.resume(dir / "run.safetensors");
    BOOST_TEST(st.step == 24u);
    BOOST_TEST(t.step() == 24u);
    BOOST_TEST(st.metadata.at("trainer.data") ==
               "order=class_balanced batch=20 seed=7 augment=pad_1_flip");
    const train_result b = t.fit();
    BOOST_TEST(!b.interrupted);
    BOOST_TEST(b.step == 60u);
    BOOST_TEST(b.epochs.size() == 2u);
    BOOST_TEST(b.epochs.front().steps == 16u); // epoch 2 from its step 5 on
    const std::vector<float> x = everything(straight), y = everything(model);
    BOOST_REQUIRE(x.size() == y.size());
    BOOST_TEST(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0);
    BOOST_TEST(b.epochs.back().test_accuracy == a.epochs.back().test_accuracy);
    BOOST_TEST(lines_of(dir / "run.csv") == 4u); // epoch 1, then 2 and 3 appended

    // Resuming with another data order is refused before anything is loaded.
    model_t other(net, batch, {.seed = 5});
    adam other_opt(other, {.learning_rate = 0.02, .bias_correction = false});
    trainer_options reseeded = full_options(out);
    reseeded.seed = 8;
    trainer u(other, other_opt, train, test, reseeded);
    const std::vector<float> untouched = everything(other);
    BOOST_CHECK_EXCEPTION(
        u.resume(dir / "run.safetensors"), value_error, [&](const value_error& e) {
            return std::string(e.what()) ==
                   "maso: trainer: " + (dir / "run.safetensors").string() +
                       " was saved by a run whose data order is \"order=class_balanced batch=20 "
                       "seed=7 augment=pad_1_flip\"; this run's is \"order=class_balanced batch=20 "
                       "seed=8 augment=pad_1_flip\", so its batches would differ";
        });
    BOOST_TEST(everything(other) == untouched);
    BOOST_TEST(u.step() == 0u);
}

BOOST_AUTO_TEST_CASE(ctrl_c_at_an_epoch_end_and_without_a_save_path) {
    const io::dataset train = quadrants(400, 1);
    maso_test::temp_dir dir;
    std::ostringstream out;
    {
        // At the last step of epoch 1: saved at step 20 before the evaluation it skips.
        model_t model(net, batch, {.seed = 3});
        adam opt(model);
        trainer_options o{.epochs = 3,
                          .save = dir / "a.safetensors",
                          .progress = {.style = progress_style::lines, .out = &out}};
        o.on_step = [](const step_report& r) {
            if (r.global_step == 20) std::raise(SIGINT);
        };
        const train_result r = trainer(model, opt, train, o).fit();
        BOOST_TEST(r.interrupted);
        BOOST_TEST(r.step == 20u);
        BOOST_TEST(io::load_checkpoint(dir / "a.safetensors", model).step == 20u);
    }
    {
        model_t model(net, batch, {.seed = 3});
        adam opt(model);
        trainer_options o{.epochs = 3, .progress = {.style = progress_style::lines, .out = &out}};
        o.on_step = [](const step_report& r) {
            if (r.global_step == 3) std::raise(SIGINT);
        };
        const train_result r = trainer(model, opt, train, o).fit();
        BOOST_TEST(r.interrupted);
        BOOST_TEST(r.checkpoint.empty());
        BOOST_TEST(out.str().find("stopped by Ctrl-C after step 3 (epoch 1); no checkpoint saved "
                                  "(no path to save to)") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_non_finite_loss_names_the_step_and_the_node) {
    const io::dataset train = quadrants(400, 1);
    maso_test::temp_dir dir;
    model_t model(net, batch, {.seed = 3});
    adam opt(model);
    std::ostream sink(nullptr);
    trainer_options o{.epochs = 2, .save = dir / "run.safetensors", .progress = {.out = &sink}};
    // After step 4, a weight of the dense layer (node 6) becomes infinite: step 5's loss is not
    // finite, and the first output holding a NaN or an infinity is that layer's.
    o.on_step = [&](const step_report& r) {
        if (r.global_step == 4) model.parameters<6>()[0] = std::numeric_limits<float>::infinity();
    };
    trainer t(model, opt, train, o);
    try {
        t.fit();
        BOOST_FAIL("a non-finite loss did not stop training");
    } catch (const numeric_error& e) {
        const std::string m = e.what();
        BOOST_TEST_MESSAGE(m);
        BOOST_TEST(m.rfind("maso: step 5 (epoch 1, step 5 of 20): the loss is ", 0) == 0);
        BOOST_TEST(m.find("in the output of node 6 (dense<4>") != std::string::npos);
    }
    BOOST_TEST(t.step() == 4u);
    // No checkpoint of the broken parameters.
    BOOST_TEST(!std::filesystem::exists(dir / "run.safetensors"));
}

BOOST_AUTO_TEST_CASE(a_step_allocates_nothing) {
    const io::dataset train = quadrants(400, 1), test = quadrants(200, 2);
    model_t model(net, batch, {.seed = 3});
    adam opt(model);
    std::ostream sink(nullptr); // lines mode: every step writes one
    std::vector<long> counts;
    counts.reserve(100);
    trainer_options o{
        .epochs = 2,
        .order = io::sampling::class_balanced,
        .augment = io::augment_options{.pad = 1},
        .progress = {.style = progress_style::lines, .out = &sink, .lines_per_epoch = 20}};
    o.on_step = [&](const step_report&) { counts.push_back(maso_test::allocations()); };
    trainer(model, opt, train, test, o).fit();
    BOOST_REQUIRE(counts.size() == 40u);
    // Within an epoch, from its second step on (the first may follow the evaluation, which
    // allocates the padded batch, and the CSV row).
    for (std::size_t s = 2; s < 20; ++s)
        BOOST_TEST(counts[s] == counts[1], "step " << s + 1);
    for (std::size_t s = 22; s < 40; ++s)
        BOOST_TEST(counts[s] == counts[21], "step " << s + 1);
}

BOOST_AUTO_TEST_CASE(bad_options_and_sets_are_refused) {
    const io::dataset train = quadrants(400, 1);
    model_t model(net, batch);
    adam opt(model);
    const auto refused = [](const auto& make, const std::string& message) {
        try {
            make();
            BOOST_ERROR("not refused: " << message);
        } catch (const error& e) {
            BOOST_TEST(std::string(e.what()) == message);
        }
    };
    refused([&] { trainer(model, opt, train, {.epochs = 0}); },
            "maso: trainer: epochs = 0 must be at least 1");
    refused(
        [&] { trainer(model, opt, train, {.clip_norm = -1}); },
        "maso: trainer: clip_norm = -1.000000 must be finite and non-negative (0: no clipping)");
    const io::dataset wide(std::vector<float>(2 * 49), {0, 1}, {1, 7, 7}, 2, "wide");
    refused([&] { trainer(model, opt, train, wide); },
            "maso: trainer: the test set's images are 1x7x7, the model takes 1x6x6");
    const io::dataset many(std::vector<float>(2 * 36), {0, 5}, {1, 6, 6}, 6, "many");
    refused([&] { trainer(model, opt, many); },
            "maso: trainer: the training set has 6 classes, more than the model's 4 outputs");
    const io::dataset three(std::vector<float>(30 * 36), std::vector<int>(30, 1), {1, 6, 6}, 3);
    refused([&] { trainer(model, opt, three, {.order = io::sampling::class_balanced}); },
            "maso: batch_sampler: class-balanced batches: the batch size 20 is not a multiple of "
            "the 3 classes");
    refused([&] { trainer(model, opt, train, {.augment = io::augment_options{.pad = 6}}); },
            "maso: augmenter: pad = 6 must be smaller than the 6x6 image");
}
