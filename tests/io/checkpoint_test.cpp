// Tests of include/maso/io/checkpoint.hpp: a round trip of a model, its Adam state, the step,
// a random state and metadata; resuming — k steps at 2 threads, save, load into a fresh model
// and optimiser, N − k steps at 1 thread — gives bitwise the parameters, statistics and
// optimiser state of N steps straight; the file read as a plain safetensors file; each refusal
// (another network, another dtype, shape or optimiser, a missing or unknown tensor, truncated, a
// flipped byte in the data or the header, a future format, not a checkpoint) leaving the model and
// optimiser untouched; a save into a read-only directory failing cleanly; and a few hundred random
// corruptions of a real checkpoint, each refused with a maso::error or harmless.
#include <maso/io/checkpoint.hpp>
#include <maso/io/random_state.hpp>
#include <maso/maso.hpp>

#include <maso_test/io_files.hpp>
#include <maso_test/thread_count_guard.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <sys/fsuid.h>
#include <vector>

using namespace maso;
using maso_test::bytes;
using maso_test::message_of;

namespace {

// A convolution, batch norm (running statistics), a learnable β, pooling, a dense layer and
// the loss: every kind of tensor a checkpoint holds.
const auto net = input<1, 6, 6>() >> conv2d<3, 3>() >>
                 batch_norm() >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>() >>
                 flatten() >> dense<3>() >> softmax_cross_entropy();
// The same but for the last layer's width.
const auto other_net = input<1, 6, 6>() >> conv2d<3, 3>() >>
                       batch_norm() >> beta_vq<relu>(learnable(0.5f)) >> maxpool<2>() >>
                       flatten() >> dense<4>() >> softmax_cross_entropy();
constexpr std::size_t batch = 4;

using model_t = decltype(instantiate(net, batch));

/// One training step on a batch drawn from rng: images in [−1, 1), labels in [0, 3).
template <class Optimizer>
void train(model_t& m, Optimizer& opt, std::mt19937_64& rng, int steps) {
    const schedule lr = linear_warmup(3, cosine_lr(0.01, 20));
    std::vector<float> x(36 * batch);
    std::vector<int> labels(batch);
    for (int s = 0; s < steps; ++s) {
        for (auto& v : x)
            v = float(rng() >> 40) * 0x1p-23f - 1.f;
        for (auto& l : labels)
            l = int(rng() % 3);
        m.zero_gradients();
        m.forward(x, labels);
        m.backward();
        clip_gradient_norm(m, 2.0);
        opt.set_learning_rate(lr(opt.step_count()));
        opt.step();
    }
}

/// Every value of a list of tensors, in order.
template <class T>
std::vector<T> values_of(const std::vector<parameter_ref<T>>& tensors) {
    std::vector<T> out;
    for (const auto& t : tensors)
        out.insert(out.end(), t.value.begin(), t.value.end());
    return out;
}

bytes slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

/// The problem part of a file_error's message for file p.
std::string problem(const std::string& message, const std::filesystem::path& p) {
    const std::string prefix = "maso: " + p.string() + ": ";
    BOOST_CHECK_MESSAGE(message.rfind(prefix, 0) == 0, "\"" << message << "\" lacks the path");
    return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

/// The header CRC as docs/errors.md and checkpoint.hpp define it, computed here: per tensor by
/// name "name\0dtype\0[shape]\0begin end\0", then "key\0value\0" per metadata entry but
/// maso.header_crc32, by key.
std::uint32_t header_crc_here(std::vector<io::tensor_info> tensors,
                              const std::map<std::string, std::string>& meta) {
    std::sort(tensors.begin(), tensors.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    std::string s;
    for (const auto& t : tensors) {
        s += t.name + '\0' + io::to_string(t.dtype) + '\0' + io::shape_string(t.shape) + '\0' +
             std::to_string(t.begin) + " " + std::to_string(t.end) + '\0';
    }
    for (const auto& [k, v] : meta)
        if (k != "maso.header_crc32") s += k + '\0' + v + '\0';
    return std::uint32_t(::crc32(0, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size())));
}

std::string hex(std::uint32_t v) {
    char t[16];
    std::snprintf(t, sizeof t, "0x%08x", v);
    return t;
}

/// A copy of checkpoint `from` with its tensors edited, written to `to` with checksums that
/// match (computed here), so that only the edit is wrong.
template <class Edit>
void rewrite(const std::filesystem::path& from, const std::filesystem::path& to, Edit edit) {
    const auto f = io::read_safetensors(from);
    struct tensor {
        std::string name;
        std::vector<std::uint64_t> shape;
        std::vector<float> values;
    };
    std::vector<tensor> ts;
    for (const auto& t : f.tensors()) {
        tensor x{t.name, t.shape, std::vector<float>(t.elements())};
        f.read(t, std::span(x.values));
        ts.push_back(std::move(x));
    }
    auto meta = f.metadata();
    edit(ts, meta);
    io::safetensors_writer w;
    for (const auto& t : ts)
        w.add(t.name, t.shape, std::span<const float>(t.values));
    const bytes all = w.bytes();
    const std::size_t header = 8 + (std::size_t(all[0]) | std::size_t(all[1]) << 8);
    meta["maso.data_crc32"] =
        hex(std::uint32_t(::crc32(0, all.data() + header, uInt(all.size() - header))));
    meta["maso.header_crc32"] = hex(header_crc_here(w.layout(), meta));
    for (const auto& [k, v] : meta)
        w.set_metadata(k, v);
    w.write(to);
}

/// The models and optimiser every refusal test loads into, with a snapshot to compare.
struct fixture {
    maso_test::temp_dir dir;
    std::filesystem::path saved = dir / "run.safetensors";
    model_t model = instantiate(net, batch, fuse::all, {.seed = 1});
    adam opt{model, {.learning_rate = 0.01}};
    std::mt19937_64 rng{5};

    fixture() {
        train(model, opt, rng, 2);
        io::save_checkpoint(saved, model, opt, {.step = 2, .random_state = "r"});
    }

    /// The problem a load of `p` into a fresh model and optimiser raises; checks that the
    /// load changed nothing.
    std::string load_problem(const std::filesystem::path& p, bool with_optimizer = true) {
        auto fresh = instantiate(net, batch, fuse::all, {.seed = 9});
        adam fresh_opt(fresh, {.learning_rate = 0.01});
        train(fresh, fresh_opt, rng, 1);
        const auto before = values_of(fresh.state_dict());
        const auto before_opt = values_of(fresh_opt.state_dict());
        const std::string m = message_of<file_error>([&] {
            if (with_optimizer)
                io::load_checkpoint(p, fresh, fresh_opt);
            else
                io::load_checkpoint(p, fresh);
        });
        BOOST_CHECK(values_of(fresh.state_dict()) == before);
        BOOST_CHECK(values_of(fresh_opt.state_dict()) == before_opt);
        BOOST_CHECK_EQUAL(fresh_opt.step_count(), 1u);
        return problem(m, p);
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(round_trip_of_model_adam_step_rng_and_metadata) {
    maso_test::temp_dir dir;
    auto m = instantiate(net, batch, fuse::all, {.seed = 1});
    adam opt(m, {.learning_rate = 0.01, .bias_correction = false});
    std::mt19937_64 rng(3);
    train(m, opt, rng, 4);
    const std::string rng_text = io::random_state_text(rng);
    io::save_checkpoint(dir / "c.safetensors", m, opt,
                        {.step = 4,
                         .random_state = rng_text,
                         .metadata = {{"sampler.epoch", "2"}, {"note", "caf\xc3\xa9"}}});
    BOOST_CHECK(std::filesystem::exists(dir / "c.safetensors"));

    auto fresh = instantiate(net, batch, fuse::all, {.seed = 77});
    adam fresh_opt(fresh, {.learning_rate = 0.01, .bias_correction = false});
    BOOST_REQUIRE(values_of(fresh.state_dict()) != values_of(m.state_dict()));
    const io::checkpoint_state st = io::load_checkpoint(dir / "c.safetensors", fresh, fresh_opt);
    BOOST_CHECK(values_of(fresh.state_dict()) == values_of(m.state_dict())); // bitwise
    BOOST_CHECK(values_of(fresh_opt.state_dict()) == values_of(opt.state_dict()));
    BOOST_CHECK_EQUAL(fresh_opt.step_count(), 4u);
    BOOST_CHECK_EQUAL(st.step, 4u);
    BOOST_CHECK_EQUAL(st.random_state, rng_text);
    BOOST_CHECK(st.metadata == (std::map<std::string, std::string>{{"note", "caf\xc3\xa9"},
                                                                   {"sampler.epoch", "2"}}));
    std::mt19937_64 restored;
    io::restore_random_state(restored, st.random_state);
    BOOST_CHECK_EQUAL(restored(), rng());

    // The model alone, from the same file: the optimiser state is left aside.
    auto third = instantiate(net, batch, fuse::all, {.seed = 78});
    io::load_checkpoint(dir / "c.safetensors", third);
    BOOST_CHECK(values_of(third.state_dict()) == values_of(m.state_dict()));
}

BOOST_AUTO_TEST_CASE(resuming_gives_bitwise_the_run_that_never_stopped) {
    constexpr int total = 8, before = 3;
    // Adam with bias correction, SGD with Nesterov momentum: each optimiser's whole state.
    const auto run = [](auto make_optimizer) {
        maso_test::temp_dir dir;
        maso_test::thread_count_guard guard;
        set_num_threads(2);
        auto straight = instantiate(net, batch, fuse::all, {.seed = 1});
        auto opt = make_optimizer(straight);
        std::mt19937_64 rng(11);
        train(straight, opt, rng, total);

        auto first = instantiate(net, batch, fuse::all, {.seed = 1});
        auto first_opt = make_optimizer(first);
        std::mt19937_64 first_rng(11);
        train(first, first_opt, first_rng, before);
        io::save_checkpoint(dir / "k.safetensors", first, first_opt,
                            {.step = before, .random_state = io::random_state_text(first_rng)});

        // A new process, as it were: other initial weights, a new optimiser, a new engine,
        // and another thread count (the straight run had 2).
        maso_test::thread_count_guard one_thread;
        set_num_threads(1);
        auto resumed = instantiate(net, batch, fuse::all, {.seed = 1234});
        auto resumed_opt = make_optimizer(resumed);
        std::mt19937_64 resumed_rng(999);
        const auto st = io::load_checkpoint(dir / "k.safetensors", resumed, resumed_opt);
        io::restore_random_state(resumed_rng, st.random_state);
        BOOST_CHECK_EQUAL(st.step, std::uint64_t(before));
        train(resumed, resumed_opt, resumed_rng, total - before);

        const auto a = values_of(straight.state_dict()), b = values_of(resumed.state_dict());
        BOOST_REQUIRE_EQUAL(a.size(), b.size());
        BOOST_CHECK_EQUAL(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
        BOOST_CHECK(values_of(opt.state_dict()) == values_of(resumed_opt.state_dict()));
        BOOST_CHECK_EQUAL(resumed_opt.step_count(), std::uint64_t(total));
        // And the interruption mattered: a run that lost the optimiser state differs.
        auto lost = instantiate(net, batch, fuse::all, {.seed = 1234});
        auto lost_opt = make_optimizer(lost);
        std::mt19937_64 lost_rng(999);
        const auto st2 = io::load_checkpoint(dir / "k.safetensors", lost);
        io::restore_random_state(lost_rng, st2.random_state);
        train(lost, lost_opt, lost_rng, total - before);
        BOOST_CHECK(values_of(lost.state_dict()) != a);
    };
    run([](model_t& m) { return adam(m, {.learning_rate = 0.01, .weight_decay = 1e-3}); });
    run([](model_t& m) {
        return sgd(
            m, {.learning_rate = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-3});
    });
}

BOOST_AUTO_TEST_CASE(a_plain_safetensors_reader_finds_the_tensors_by_name) {
    maso_test::temp_dir dir;
    auto m = instantiate(net, batch, fuse::all, {.seed = 4});
    adam opt(m, {.learning_rate = 0.001, .bias_correction = false});
    io::save_checkpoint(dir / "p.safetensors", m, opt, {.step = 17});
    const bytes file = slurp(dir / "p.safetensors");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | file[std::size_t(i)];
    const auto j = nlohmann::json::parse(file.begin() + 8, file.begin() + std::ptrdiff_t(8 + n));
    std::size_t tensors = 0;
    for (const auto& p : m.state_dict()) {
        BOOST_TEST_CONTEXT(p.name) {
            BOOST_REQUIRE(j.contains(p.name));
            BOOST_CHECK_EQUAL(j[p.name]["dtype"], "F32");
            BOOST_CHECK(j[p.name]["shape"] == nlohmann::json(p.shape));
            const auto begin = j[p.name]["data_offsets"][0].get<std::size_t>();
            float first = 0;
            std::memcpy(&first, file.data() + 8 + n + begin, 4);
            BOOST_CHECK_EQUAL(first, p.value[0]);
            ++tensors;
        }
    }
    BOOST_CHECK(j.contains("1.conv2d.weight"));
    BOOST_CHECK(j["1.conv2d.weight"]["shape"] == nlohmann::json::array({3, 1, 3, 3}));
    BOOST_CHECK(j.contains("2.batch_norm.running_var"));
    BOOST_CHECK(j.contains("optimizer.exp_avg_sq.6.dense.weight"));
    BOOST_CHECK_EQUAL(j.size(), 1 + tensors + opt.state_dict().size());
    const auto& meta = j["__metadata__"];
    BOOST_CHECK_EQUAL(meta["maso.checkpoint"], "1");
    BOOST_CHECK_EQUAL(meta["maso.version"], "0.1.0");
    BOOST_CHECK_EQUAL(meta["maso.signature"], m.signature());
    BOOST_CHECK_EQUAL(meta["maso.step"], "17");
    BOOST_CHECK_EQUAL(meta["maso.optimizer"], "adam");
    BOOST_CHECK_EQUAL(meta["maso.optimizer.step_count"], "0");
    BOOST_CHECK_EQUAL(
        nlohmann::json::parse(meta["maso.optimizer.options"].get<std::string>())["bias_correction"],
        false);
    // The data checksum is zlib's CRC-32 of everything after the header.
    BOOST_CHECK_EQUAL(
        meta["maso.data_crc32"],
        hex(std::uint32_t(::crc32(0, file.data() + 8 + n, uInt(file.size() - 8 - n)))));
    std::map<std::string, std::string> m_meta = meta.get<std::map<std::string, std::string>>();
    BOOST_CHECK_EQUAL(
        meta["maso.header_crc32"],
        hex(header_crc_here(io::read_safetensors(dir / "p.safetensors").tensors(), m_meta)));
}

BOOST_AUTO_TEST_CASE(another_network_is_refused_naming_the_first_differing_line) {
    fixture f;
    auto other = instantiate(other_net, batch);
    const auto before = values_of(other.state_dict());
    const std::string m =
        problem(message_of<file_error>([&] { io::load_checkpoint(f.saved, other); }), f.saved);
    BOOST_CHECK(values_of(other.state_dict()) == before);
    // Nodes 0-5 agree; line 7 is node 6, the dense layer.
    const auto line = [](const std::string& s, int k) {
        std::size_t at = 0;
        for (int i = 0; i < k; ++i)
            at = s.find('\n', at) + 1;
        return s.substr(at, s.find('\n', at) - at);
    };
    BOOST_CHECK_EQUAL(m, "written for another network: line 7 of its signature is \"" +
                             line(f.model.signature(), 6) + "\", this model's is \"" +
                             line(other.signature(), 6) + "\"");
    BOOST_CHECK_EQUAL(line(f.model.signature(), 6).substr(0, 2), "6 ");
}

BOOST_AUTO_TEST_CASE(a_double_model_round_trips_and_a_float_model_refuses_its_f64) {
    maso_test::temp_dir dir;
    const auto small = input<4>() >> dense<3>();
    auto d = instantiate<double>(small, 1, fuse::all, {.seed = 2});
    d.parameters()[0] = 1.0 / 3; // a value float cannot hold
    io::save_checkpoint(dir / "d.safetensors", d, {.step = 1});
    auto d2 = instantiate<double>(small, 1, fuse::all, {.seed = 3});
    io::load_checkpoint(dir / "d.safetensors", d2);
    BOOST_CHECK(values_of(d2.state_dict()) == values_of(d.state_dict()));
    BOOST_CHECK_EQUAL(d2.parameters()[0], 1.0 / 3);
    auto f = instantiate(small, 1);
    BOOST_CHECK_EQUAL(
        problem(message_of<file_error>([&] { io::load_checkpoint(dir / "d.safetensors", f); }),
                dir / "d.safetensors"),
        "tensor \"1.dense.weight\" is F64 [3, 4] in the file, F32 [3, 4] in the model");
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupted_files_are_refused) {
    fixture f;
    const bytes good = slurp(f.saved);
    const auto bad = f.dir / "bad.safetensors";
    for (const std::size_t size : {std::size_t(0), std::size_t(5), std::size_t(8), std::size_t(100),
                                   good.size() / 2, good.size() - 1}) {
        maso_test::write_plain(bad, bytes(good.begin(), good.begin() + std::ptrdiff_t(size)));
        const std::string p = f.load_problem(bad);
        BOOST_CHECK_MESSAGE(p.rfind("truncated: ", 0) == 0 || p.rfind("malformed", 0) == 0,
                            size << " bytes: " << p);
    }
    BOOST_CHECK_EQUAL(f.load_problem(bad).rfind("truncated: the tensors need ", 0), 0u);

    // A flipped bit in the data: the data checksum.
    bytes flipped = good;
    flipped[good.size() - 3] ^= 0x10;
    maso_test::write_plain(bad, flipped);
    const std::string p = f.load_problem(bad);
    BOOST_CHECK_EQUAL(p.rfind("the data is corrupt: its CRC-32 is 0x", 0), 0u);
    BOOST_CHECK_NE(p.find(", maso.data_crc32 says 0x"), std::string::npos);

    // A digit of the step in the header, which still parses: the header checksum.
    const std::string text(good.begin(), good.end());
    const std::size_t at = text.find("\"maso.step\":\"2\"");
    BOOST_REQUIRE_NE(at, std::string::npos);
    bytes step = good;
    step[at + 13] = '7';
    maso_test::write_plain(bad, step);
    const std::string q = f.load_problem(bad);
    BOOST_CHECK_EQUAL(q.rfind("the header is corrupt: its CRC-32 is 0x", 0), 0u);
    BOOST_CHECK_NE(q.find(", maso.header_crc32 says 0x"), std::string::npos);
    // The same in the random state.
    const std::size_t r = text.find("\"maso.random_state\":\"r\"");
    BOOST_REQUIRE_NE(r, std::string::npos);
    bytes state = good;
    state[r + 21] = 's';
    maso_test::write_plain(bad, state);
    BOOST_CHECK_EQUAL(f.load_problem(bad).rfind("the header is corrupt", 0), 0u);
}

BOOST_AUTO_TEST_CASE(a_future_format_and_a_foreign_file_are_refused) {
    fixture f;
    const auto bad = f.dir / "bad.safetensors";
    rewrite(f.saved, bad, [](auto&, auto& meta) {
        meta["maso.checkpoint"] = "2";
        meta["maso.version"] = "1.4.0";
    });
    BOOST_CHECK_EQUAL(f.load_problem(bad), "written by maso 1.4.0 in checkpoint format 2; this "
                                           "maso (0.1.0) reads format 1 and older");
    rewrite(f.saved, bad, [](auto&, auto& meta) { meta.clear(); });
    BOOST_CHECK_EQUAL(f.load_problem(bad),
                      "not a maso checkpoint: its metadata has no maso.checkpoint entry");
    rewrite(f.saved, bad, [](auto&, auto& meta) { meta["maso.step"] = "two"; });
    BOOST_CHECK_EQUAL(f.load_problem(bad),
                      "malformed metadata: maso.step = \"two\" is not a whole number");
    rewrite(f.saved, bad, [](auto&, auto& meta) { meta.erase("maso.optimizer.step_count"); });
    BOOST_CHECK_EQUAL(f.load_problem(bad),
                      "malformed metadata: maso.optimizer.step_count is missing");
    rewrite(f.saved, bad, [](auto&, auto& meta) { meta.erase("maso.signature"); });
    BOOST_CHECK_EQUAL(f.load_problem(bad), "malformed metadata: maso.signature is missing");
    // The rewrite itself is faithful: untouched, it loads.
    rewrite(f.saved, bad, [](auto&, auto&) {});
    auto m = instantiate(net, batch);
    adam opt(m);
    io::load_checkpoint(bad, m, opt);
    BOOST_CHECK(values_of(m.state_dict()) == values_of(f.model.state_dict()));
}

BOOST_AUTO_TEST_CASE(missing_unknown_and_misshapen_tensors_are_refused) {
    fixture f;
    const auto bad = f.dir / "bad.safetensors";
    const auto drop = [](const std::string& name) {
        return [name](auto& ts, auto&) {
            std::erase_if(ts, [&](const auto& t) { return t.name == name; });
        };
    };
    rewrite(f.saved, bad, drop("2.batch_norm.running_mean"));
    BOOST_CHECK_EQUAL(f.load_problem(bad),
                      "tensor \"2.batch_norm.running_mean\" of the model is missing");
    rewrite(f.saved, bad, drop("optimizer.exp_avg.3.beta_vq.theta"));
    BOOST_CHECK_EQUAL(f.load_problem(bad),
                      "tensor \"optimizer.exp_avg.3.beta_vq.theta\" of the optimiser is missing");
    // Without the optimiser, its state is not needed.
    auto m = instantiate(net, batch);
    io::load_checkpoint(bad, m);
    rewrite(f.saved, bad, [](auto& ts, auto&) { ts.push_back({"extra", {1}, {0.f}}); });
    BOOST_CHECK_EQUAL(f.load_problem(bad), "tensor \"extra\" is not in the model");
    rewrite(f.saved, bad, [](auto& ts, auto&) { ts.push_back({"optimizer.extra", {1}, {0.f}}); });
    BOOST_CHECK_EQUAL(f.load_problem(bad),
                      "tensor \"optimizer.extra\" is not in the optimiser's state");
    rewrite(f.saved, bad, [](auto& ts, auto&) {
        for (auto& t : ts)
            if (t.name == "6.dense.weight") t.shape = {27, 3};
    });
    BOOST_CHECK_EQUAL(
        f.load_problem(bad),
        "tensor \"6.dense.weight\" is F32 [27, 3] in the file, F32 [3, 27] in the model");
}

BOOST_AUTO_TEST_CASE(the_optimiser_must_be_the_one_saved) {
    fixture f;
    const auto p = f.dir / "other.safetensors";
    sgd momentum(f.model, {.learning_rate = 0.1, .momentum = 0.9});
    io::save_checkpoint(p, f.model, momentum);
    BOOST_CHECK_EQUAL(f.load_problem(p),
                      "holds the state of a \"sgd\" optimiser, not of a \"adam\"");
    io::save_checkpoint(p, f.model);
    BOOST_CHECK_EQUAL(f.load_problem(p),
                      "holds no optimiser state: it was saved without an optimiser");
    // Plain SGD has no state; SGD with momentum needs its velocity.
    sgd plain(f.model, {.learning_rate = 0.1});
    io::save_checkpoint(p, f.model, plain);
    auto m = instantiate(net, batch);
    sgd with_momentum(m, {.learning_rate = 0.1, .momentum = 0.9});
    BOOST_CHECK_EQUAL(
        problem(message_of<file_error>([&] { io::load_checkpoint(p, m, with_momentum); }), p),
        "tensor \"optimizer.momentum_buffer.1.conv2d.weight\" of the optimiser is missing");
    sgd plain_too(m, {.learning_rate = 0.1});
    io::load_checkpoint(p, m, plain_too);
    BOOST_CHECK(values_of(m.state_dict()) == values_of(f.model.state_dict()));
    // The caller's metadata may not use maso's keys.
    BOOST_CHECK_EQUAL(message_of<value_error>([&] {
                          io::save_checkpoint(p, f.model, {.metadata = {{"maso.step", "1"}}});
                      }),
                      "maso: save_checkpoint: the metadata key \"maso.step\" is reserved: keys "
                      "starting with \"maso.\" are maso's");
}

BOOST_AUTO_TEST_CASE(a_save_that_fails_leaves_the_old_checkpoint) {
    fixture f;
    const bytes old = slurp(f.saved);
    train(f.model, f.opt, f.rng, 1);
    // The directory becomes read-only. Root ignores permissions, so as root the test thread
    // takes the file-system identity of "nobody" (setfsuid: this thread only, and it drops
    // root's override of permissions) while it saves.
    std::filesystem::permissions(
        f.dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                          std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
                          std::filesystem::perms::others_read |
                          std::filesystem::perms::others_exec);
    const bool root = ::geteuid() == 0;
    if (root) ::setfsuid(65534);
    const bool writable = [&] {
        const auto probe = f.dir / "probe";
        std::ofstream out(probe);
        const bool ok = bool(out);
        out.close();
        std::filesystem::remove(probe);
        return ok;
    }();
    std::string m;
    if (!writable)
        m = message_of<file_error>([&] { io::save_checkpoint(f.saved, f.model, f.opt); });
    if (root) ::setfsuid(0);
    std::filesystem::permissions(f.dir.path(), std::filesystem::perms::owner_all);
    if (writable) {
        BOOST_TEST_MESSAGE("the directory could not be made read-only here; case skipped");
        return;
    }
    BOOST_CHECK_EQUAL(problem(m, f.saved),
                      "cannot create a temporary file beside it: Permission denied");
    BOOST_CHECK(slurp(f.saved) == old);
    BOOST_CHECK_EQUAL(std::distance(std::filesystem::directory_iterator(f.dir.path()),
                                    std::filesystem::directory_iterator()),
                      1);
    // And it loads as it was saved.
    auto fresh = instantiate(net, batch);
    adam fresh_opt(fresh);
    BOOST_CHECK_EQUAL(io::load_checkpoint(f.saved, fresh, fresh_opt).step, 2u);
}

BOOST_AUTO_TEST_CASE(random_corruptions_are_refused_or_harmless) {
    // A few hundred mutations of a real checkpoint — bytes changed, the file cut, a byte
    // inserted or removed — each loaded into a fresh model: a maso::error and the model
    // unchanged, or (a change the format ignores, such as padding spaces) the very values
    // saved. Bounded in time for the sanitizer build.
    fixture f;
    const bytes good = slurp(f.saved);
    const auto expected = values_of(f.model.state_dict());
    const auto expected_opt = values_of(f.opt.state_dict());
    const auto bad = f.dir / "mutant.safetensors";
    std::mt19937_64 g(20240601);
    const auto start = std::chrono::steady_clock::now();
    int refused = 0, harmless = 0;
    for (int trial = 0; trial < 400; ++trial) {
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) break;
        bytes b = good;
        const auto at = [&](std::size_t n) { return std::size_t(g() % n); };
        switch (trial % 5) {
        case 0: // one byte, anywhere
        case 1:
            b[at(b.size())] = std::uint8_t(g());
            break;
        case 2: // up to four bytes in the header
            for (int k = 0, n = 1 + int(g() % 4); k < n; ++k)
                b[at(std::min<std::size_t>(b.size(), 4096))] = std::uint8_t(g());
            break;
        case 3: // cut
            b.resize(at(b.size()));
            break;
        case 4: // a byte inserted or removed
            if (g() % 2)
                b.insert(b.begin() + std::ptrdiff_t(at(b.size())), std::uint8_t(g()));
            else
                b.erase(b.begin() + std::ptrdiff_t(at(b.size())));
            break;
        }
        maso_test::write_plain(bad, b);
        auto m = instantiate(net, batch, fuse::all, {.seed = 3});
        adam opt(m);
        const auto before = values_of(m.state_dict());
        try {
            io::load_checkpoint(bad, m, opt);
            ++harmless;
            BOOST_CHECK(values_of(m.state_dict()) == expected);
            BOOST_CHECK(values_of(opt.state_dict()) == expected_opt);
        } catch (const maso::error&) {
            ++refused;
            BOOST_CHECK(values_of(m.state_dict()) == before);
            BOOST_CHECK_EQUAL(opt.step_count(), 0u);
        } catch (const std::exception& e) {
            BOOST_ERROR("trial " << trial << ": not a maso::error: " << e.what());
        }
    }
    BOOST_TEST_MESSAGE(refused << " refused, " << harmless << " harmless");
    BOOST_CHECK_GT(refused, 100);
}
