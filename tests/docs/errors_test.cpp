// Tests of docs/errors.md against the code: every run-time message the page lists is
// raised by some call below, with the exception the page names, and every message those
// calls raise is on the page. A message that changes in the code, or on the page alone,
// fails here.
#include <maso/inspect/affine_map.hpp>
#include <maso/inspect/cells.hpp>
#include <maso/inspect/region_prior.hpp>
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include <maso_test/io_files.hpp>

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace maso;

namespace {

/// One message the page lists: its exception's name, its text, and the literal pieces
/// between the values it fills in (`<…>` or `…` on the page).
struct listed {
    std::string exception, text;
    std::vector<std::string> pieces;

    /// Whether `message` is the pieces in order, each value between them one or more
    /// characters (backtracking over where each piece is found).
    bool matches(const std::string& message) const { return match(message, 0, 0); }

private:
    bool match(const std::string& m, std::size_t at, std::size_t piece) const {
        if (piece == pieces.size()) return at == m.size();
        const std::string& p = pieces[piece];
        if (piece == 0) return m.compare(0, p.size(), p) == 0 && match(m, p.size(), 1);
        for (std::size_t k = m.find(p, at + 1); k != std::string::npos; k = m.find(p, k + 1))
            if (match(m, k + p.size(), piece + 1)) return true;
        // A value at the end: the last piece is empty.
        return p.empty() && m.size() > at && piece + 1 == pieces.size();
    }
};

/// The `maso: …` spans of the message column of every table row naming an exception.
std::vector<listed> messages_on_the_page() {
    std::ifstream in(MASO_SOURCE_DIR "/docs/errors.md");
    BOOST_REQUIRE_MESSAGE(in, "cannot read docs/errors.md");
    std::vector<listed> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] != '|') continue;
        std::string exception;
        for (const char* e : {"file_error", "value_error", "size_error", "numeric_error", "error"})
            if (exception.empty() && line.find(std::string("| `") + e + "` |") != std::string::npos)
                exception = e;
        if (exception.empty()) continue;
        const std::size_t column = line.find("` |", line.find(std::string("| `") + exception));
        for (std::size_t at = line.find("`maso: ", column); at != std::string::npos;
             at = line.find("`maso: ", at)) {
            const std::size_t end = line.find('`', at + 1);
            const std::string text = line.substr(at + 1, end - at - 1);
            at = end + 1;
            listed l{exception, text, {""}};
            for (std::size_t i = 0; i < text.size(); ++i) {
                // "<b>" is a value; "c0 < c1" is text.
                const std::size_t close = text.find('>', i);
                if (text[i] == '<' && close != std::string::npos && text[i + 1] != ' ') {
                    i = close;
                    l.pieces.emplace_back();
                } else if (text.compare(i, 3, "…") == 0) {
                    i += 2;
                    l.pieces.emplace_back();
                } else {
                    l.pieces.back() += text[i];
                }
            }
            out.push_back(std::move(l));
        }
    }
    return out;
}

/// A call that must throw, and the name of the class it throws.
struct raised {
    std::string exception, message;
};

template <class F>
raised raise(F&& f) {
    try {
        f();
    } catch (const file_error& e) {
        return {"file_error", e.what()};
    } catch (const numeric_error& e) {
        return {"numeric_error", e.what()};
    } catch (const value_error& e) {
        return {"value_error", e.what()};
    } catch (const size_error& e) {
        return {"size_error", e.what()};
    } catch (const error& e) {
        return {"error", e.what()};
    }
    return {"nothing", ""};
}

/// A two-region unit whose regions are not c0·z < c1·z for z > 0.
struct flipped {
    static constexpr std::size_t inputs = 1, regions = 2;
    static constexpr const char* name() noexcept { return "flipped"; }
    template <class T>
    constexpr T slope(std::size_t r, std::size_t) const noexcept {
        return r == 0 ? T(1) : T(0);
    }
    template <class T>
    constexpr T offset(std::size_t) const noexcept {
        return T(0);
    }
};

const float nan = std::numeric_limits<float>::quiet_NaN();
const float inf = std::numeric_limits<float>::infinity();

/// The messages of run/codes.hpp's recording and of inspect/: codes, cells, affine maps and
/// region priors.
template <class Add>
void inspection_messages(Add add) {
    const auto net = input<2, 4, 4>() >> conv2d<2, 1>() >> maxout<2>(0.5f) >> sigmoid() >>
                     flatten() >> dense<2>();
    using Net = std::decay_t<decltype(net)>;
    const std::vector<float> x(2 * 16 * 2, 0.25f);
    add([&] { model<Net, fuse::none_t>(net, 2).program().record_codes(); });
    // Each call gets a model of its own, so that the order of the calls does not matter.
    auto fresh = [&](bool record, bool posteriors, mode m) {
        auto f = std::make_unique<model<Net>>(net, 2);
        if (record) f->program().record_codes(true, posteriors);
        f->set_mode(m);
        f->forward(x);
        return f;
    };
    add([&] { inspect::network_map(*fresh(false, false, mode::evaluation), 0); });
    add([&] { inspect::network_map(*fresh(true, false, mode::training), 0); });
    add([&] { inspect::network_map(*fresh(true, false, mode::evaluation), 2); });
    add([&] {
        inspect::nodes_map<1, 3>(*fresh(true, false, mode::evaluation), 0,
                                 inspect::vq_matrix::posterior);
    });
    add([&] { inspect::nodes_map<3, 4>(*fresh(true, false, mode::evaluation), 0); });
    add([&] {
        const auto A = inspect::nodes_map<1, 2>(*fresh(true, false, mode::evaluation), 0);
        A.apply(std::vector<double>(3));
    });
    add([&] {
        inspect::cell_counter cells(2);
        cells.add(fresh(true, false, mode::evaluation)->program().codes(), 2);
    });
    add([] {
        const std::vector<float> w(5), b(2);
        inspect::region_priors(vq::relu{}, std::span(w), std::span(b));
    });
    const auto relus = input<2>() >> dense<3>() >> beta_vq<relu>(0.5f) >> dense<2>();
    add([&] {
        model<std::decay_t<decltype(relus)>> r(relus, 1);
        r.program().record_codes();
        r.set_mode(mode::evaluation);
        r.forward(std::vector<float>{0.5f, -0.5f});
        inspect::network_map(r, 0, inspect::vq_matrix::posterior);
    });
}

/// The messages of io/safetensors.hpp, io/random_state.hpp and io/checkpoint.hpp, from files
/// written to a temporary directory and damaged on purpose.
template <class Add>
void checkpoint_messages(Add add) {
    using namespace maso::io;
    maso_test::temp_dir dir;
    std::vector<float> v(6), w(2);
    // Writing and converting.
    safetensors_writer wr;
    wr.add("a", {6}, std::span(v));
    add([&] { wr.add("a", {6}, std::span(v)); });
    add([&] { wr.add("__metadata__", {6}, std::span(v)); });
    add([&] { wr.add("b", {4}, std::span(v)); });
    add([&] { wr.add("\xff", {6}, std::span(v)); });
    add([&] { wr.set_metadata("\xff", ""); });
    add([&] { wr.set_metadata("k", "\xff"); });
    wr.write(dir / "a.safetensors");
    const auto file = read_safetensors(dir / "a.safetensors");
    std::vector<double> d(6);
    add([&] { file.read(file.tensors()[0], std::span(d)); });
    add([&] { file.read(file.tensors()[0], std::span(w)); });
    std::mt19937_64 engine;
    add([&] { restore_random_state(engine, "not a state"); });
    // Writing fails.
    add([&] { wr.write(dir / "missing" / "a.safetensors"); });
    std::filesystem::create_directories(dir / "taken" / "inside");
    add([&] { wr.write(dir / "taken"); });
    add([&] {
        // A file-size limit of 0: the temporary file is made, its first write fails.
        struct limit {
            void (*previous)(int) = std::signal(SIGXFSZ, SIG_IGN); // EFBIG, not a signal
            rlimit saved{};
            limit() {
                getrlimit(RLIMIT_FSIZE, &saved);
                rlimit none = saved;
                none.rlim_cur = 0;
                setrlimit(RLIMIT_FSIZE, &none);
            }
            ~limit() {
                setrlimit(RLIMIT_FSIZE, &saved);
                std::signal(SIGXFSZ, previous);
            }
        } guard;
        wr.write(dir / "b.safetensors");
    });
    // Files that are not valid safetensors.
    const auto read_bytes = [&](const std::string& header, std::size_t data,
                                std::uint64_t n = ~0ull) {
        if (n == ~0ull) n = header.size();
        maso_test::bytes b;
        for (int i = 0; i < 8; ++i)
            b.push_back(std::uint8_t(n >> (8 * i)));
        b.insert(b.end(), header.begin(), header.end());
        b.resize(b.size() + data);
        maso_test::write_plain(dir / "bad.safetensors", b);
        read_safetensors(dir / "bad.safetensors");
    };
    const std::string t = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    add([&] {
        maso_test::write_plain(dir / "short", {1, 2});
        read_safetensors(dir / "short");
    });
    add([&] { read_bytes(t, 8, 1ull << 40); });
    add([&] { read_bytes(t, 0, t.size() + 1); });
    add([&] { read_bytes("{", 0); });
    add([&] { read_bytes("[]", 0); });
    add([&] { read_bytes(R"({"__metadata__":[]})", 0); });
    add([&] { read_bytes(R"({"t":1})", 0); });
    add([&] { read_bytes(R"({"t":{"dtype":"F7","shape":[],"data_offsets":[0,0]}})", 0); });
    add([&] { read_bytes(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 8); });
    add([&] {
        read_bytes(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                   8);
    });
    add([&] { read_bytes(t, 4); });
    add([&] {
        read_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   8);
    });
    add([&] { read_bytes(t, 12); });
    // Checkpoints that do not fit.
    const auto small = input<3>() >> dense<2>();
    auto m = instantiate(small, 1);
    sgd plain(m);
    io::save_checkpoint(dir / "m.ck", m, plain, {.step = 3});
    add([&] { io::save_checkpoint(dir / "x.ck", m, {.metadata = {{"maso.x", ""}}}); });
    add([&] {
        auto other = instantiate(input<3>() >> dense<3>(), 1);
        io::load_checkpoint(dir / "m.ck", other);
    });
    add([&] {
        auto dm = instantiate<double>(small, 1);
        io::load_checkpoint(dir / "m.ck", dm);
    });
    add([&] {
        sgd momentum(m, {.momentum = 0.5});
        io::load_checkpoint(dir / "m.ck", m, momentum);
    });
    add([&] {
        adam a(m);
        io::load_checkpoint(dir / "m.ck", m, a);
    });
    add([&] {
        io::save_checkpoint(dir / "n.ck", m);
        io::load_checkpoint(dir / "n.ck", m, plain);
    });
    // Damaged: a byte of the data, a digit of the step.
    const auto damaged = [&](auto change) {
        std::ifstream in(dir / "m.ck", std::ios::binary);
        std::string b(std::istreambuf_iterator<char>(in), {});
        change(b);
        maso_test::write_plain(dir / "d.ck", maso_test::bytes(b.begin(), b.end()));
        io::load_checkpoint(dir / "d.ck", m);
    };
    add([&] { damaged([](std::string& b) { b.back() ^= 1; }); });
    add([&] { damaged([](std::string& b) { b[b.find("\"maso.step\":\"3\"") + 13] = '4'; }); });
    // Rewritten with consistent checksums: what the file says is wrong.
    const auto rewritten = [&](auto edit) {
        const auto f = read_safetensors(dir / "m.ck");
        std::vector<std::pair<tensor_info, std::vector<float>>> ts;
        for (const auto& ti : f.tensors()) {
            std::vector<float> x(ti.elements());
            f.read(ti, std::span(x));
            ts.emplace_back(ti, std::move(x));
        }
        auto meta = f.metadata();
        edit(ts, meta);
        safetensors_writer out;
        for (const auto& [ti, x] : ts)
            out.add(ti.name, ti.shape, std::span(x));
        meta["maso.data_crc32"] = maso::io::detail::checksum_text(out.data_crc32());
        meta["maso.header_crc32"] =
            maso::io::detail::checksum_text(maso::io::detail::header_crc32(out.layout(), meta));
        for (const auto& [k, x] : meta)
            out.set_metadata(k, x);
        out.write(dir / "r.ck");
        io::load_checkpoint(dir / "r.ck", m, plain);
    };
    add([&] { rewritten([](auto&, auto& meta) { meta.clear(); }); });
    add([&] { rewritten([](auto&, auto& meta) { meta["maso.checkpoint"] = "2"; }); });
    add([&] { rewritten([](auto&, auto& meta) { meta.erase("maso.step"); }); });
    add([&] { rewritten([](auto&, auto& meta) { meta["maso.step"] = "x"; }); });
    add([&] { rewritten([](auto&, auto& meta) { meta["maso.signature"] += "3 extra [1]\n"; }); });
    add([&] { rewritten([](auto& ts, auto&) { ts.pop_back(); }); });
    add([&] { rewritten([](auto& ts, auto&) { ts[0].first.shape = {1, 2}; }); });
    add([&] { rewritten([](auto& ts, auto&) { ts.push_back({{"z", {}, {1}, 0, 0}, {1.f}}); }); });
    add([&] {
        rewritten([](auto& ts, auto&) { ts.push_back({{"optimizer.z", {}, {1}, 0, 0}, {1.f}}); });
    });
}

/// The messages of train/trainer.hpp, train/evaluate.hpp and train/metrics_csv.hpp, on a
/// network of one dense layer over `toys` (four 1x2x2 images of two classes).
template <class Add>
void training_loop_messages(Add add, const maso::io::dataset& toys) {
    using namespace maso::io;
    const auto net = input<1, 2, 2>() >> flatten() >> dense<2>() >> softmax_cross_entropy();
    auto m = instantiate(net, 2);
    sgd opt(m);
    std::ostream sink(nullptr);
    const progress_options quiet{.style = progress_style::none, .out = &sink};
    const dataset wide(std::vector<float>(18), {0, 1}, {1, 3, 3}, 2, "wide");
    const dataset three(std::vector<float>(12), {0, 1, 2}, {1, 2, 2}, 3, "three");
    add([&] { trainer(m, opt, toys, {.epochs = 0}); });
    add([&] { trainer(m, opt, toys, {.clip_norm = nan}); });
    add([&] { trainer(m, opt, toys, wide); });
    add([&] { trainer(m, opt, three); });
    maso_test::temp_dir dir;
    trainer(m, opt, toys, {.seed = 1}).save(dir / "run.safetensors");
    add([&] { trainer(m, opt, toys, {.seed = 2}).resume(dir / "run.safetensors"); });
    add([&] {
        trainer_options o{.epochs = 2, .progress = quiet};
        o.on_step = [&](const step_report&) { m.parameters<2>()[0] = inf; };
        trainer(m, opt, toys, o).fit();
    });
    add([&] { evaluate(m, std::vector<float>(5), std::vector<int>{0}); });
    add([&] { evaluate(m, std::vector<float>(4), std::vector<int>{2}); });
    add([&] { metrics_csv(dir / "no-such-directory" / "run.csv"); });
    add([] { metrics_csv("/dev/full"); });
}

std::vector<raised> every_message() {
    std::vector<raised> r;
    auto add = [&](auto&& f) { r.push_back(raise(f)); };
    // the spline-unit core
    add([] { vq::beta::from_beta(1.5f); });
    add([] { vq::beta::from_eta(-1.f); });
    add([] { vq::beta::from_theta(nan); });
    add([] { vq::leaky_relu{1.5}; });
    // Spans of 4 and 3 over buffers of 64: the refused calls touch nothing either way.
    std::vector<float> buffer(64), out(64);
    const std::span<const float> z4(buffer.data(), 4), z3(buffer.data(), 3);
    const std::span<float> y4(out.data(), 4), y3(out.data(), 3);
    const vq::hard_pass<relu, float> pass{relu{}};
    add([&] { vq::forward(xsimd::default_arch{}, pass, z4, y3); });
    add([&] { vq::backward(xsimd::default_arch{}, pass, z4, z3, y4); });
    add([&] { vq::backward(xsimd::default_arch{}, pass, z4, z4, y3); });
    add([] { vq::hard_pass<flipped, float>{flipped{}}; });
    // nodes
    add([] { beta_vq<relu>(1.5f); });
    add([] { softpool<2>(learnable(1.f)); });
    add([] { maso::sigmoid(learnable_per_channel(0.f)); });
    add([] { softmax(learnable_per_channel(0.5f)); });
    add([] { batch_norm(0.f); });
    add([] { batch_norm(0.1f, -1.f); });
    // models
    const auto loss_net = input<3>() >> dense<2>() >> softmax_cross_entropy();
    const auto bn_net = input<2>() >> batch_norm();
    const auto plain = input<3>() >> dense<2>();
    const std::vector<float> x3{0.5f, -1.f, 2.f}, x6{0.5f, -1.f, 2.f, 1.f, 0.f, 3.f};
    add([&] { instantiate(bn_net, 1).forward(std::vector<float>{1.f, 2.f}); });
    add([&] { instantiate(plain, 0); });
    add([&] { instantiate(plain, std::size_t{1} << 60); });
    add([&] { instantiate(plain, std::size_t{1} << 44); });
    add([&] { instantiate(plain, 1).forward(x6); });
    add([&] { instantiate(plain, 1).forward(std::vector<float>{0.f, inf, 1.f}); });
    add([&] { instantiate(loss_net, 1).forward(x3, std::vector<int>{0, 1}); });
    add([&] { instantiate(loss_net, 1).forward(x3, std::vector<int>{2}); });
    add([&] { instantiate(plain, 1).forward(x3, std::vector<int>{0}); });
    add([&] {
        auto m = instantiate(input<3>() >> dense<2>() >> beta_vq<relu>(learnable(0.5f)), 1);
        m.parameters<2>()[0] = nan;
        m.forward(x3);
    });
    add([&] {
        auto m = instantiate(input<3>() >> dense<2>() >> batch_norm(), 2);
        m.forward(std::vector<float>{1e30f, 0, 0, -1e30f, 0, 0});
    });
    add([&] {
        auto m = instantiate(loss_net, 1);
        m.parameters<1>()[0] = nan;
        m.forward(x3, std::vector<int>{1});
    });
    add([&] {
        auto m = instantiate(plain, 1);
        m.parameters<1>()[0] = inf;
        m.forward(x3);
    });
    add([&] { instantiate(loss_net, 1).backward(); });
    add([&] {
        auto m = instantiate(loss_net, 1);
        m.forward(x3);
        m.backward();
    });
    add([&] {
        auto m = instantiate(plain, 1);
        m.forward(x3);
        m.backward(x3);
    });
    add([&] {
        auto m = instantiate(plain, 1);
        m.forward(x3);
        m.backward(std::vector<float>{1.f, nan});
    });
    add([&] {
        auto m = instantiate(plain, 1);
        m.forward(x3);
        std::vector<float> out(5);
        m.output(out);
    });
    {
        using S = shape<2>;
        const softmax_cross_entropy_node::layer<S, float> layer(softmax_cross_entropy());
        std::vector<float> scores{0.5f, 1.f}, p(2), dx(2);
        float loss = 0;
        layer_io<S, S, float> io;
        io.x = {scores.data(), 1};
        io.y = {p.data(), 1};
        io.dx = {dx.data(), 1};
        io.loss = &loss;
        add([&] { layer.forward(io); });
        const int bad = 5;
        io.labels = &bad;
        add([&] { layer.forward(io); });
    }
    // training and threads
    std::vector<float> p(3), g(3), g4(4);
    add([&] { sgd(p, g, {.learning_rate = -1.f}); });
    add([&] { sgd(p, g, {.momentum = 1.f}); });
    add([&] { sgd(p, g, {.weight_decay = nan}); });
    add([&] { sgd(p, g4); });
    add([&] { sgd(p, g, {.momentum = 0, .nesterov = true}); });
    add([&] { sgd(p, g).set_learning_rate(0); });
    add([&] { adam(p, g, {.learning_rate = nan}); });
    add([&] { adam(p, g).set_learning_rate(-1); });
    add([&] { adam(p, g, {.beta1 = 1}); });
    add([&] { adam(p, g, {.beta2 = -0.5}); });
    add([&] { adam(p, g, {.epsilon = 0}); });
    add([&] { adam(p, g, {.weight_decay = -1}); });
    add([&] { adam(p, g4); });
    add([] { constant_lr(0); });
    add([] { step_lr(-1, 1, 0.5); });
    add([] { cosine_lr(inf, 1); });
    add([] { step_lr(1, 0, 0.5); });
    add([] { cosine_lr(1, 0); });
    add([] { linear_warmup(0, constant_lr(1)); });
    add([] { step_lr(1, 1, 0); });
    add([] { cosine_lr(1, 10, 2); });
    add([&] { clip_gradient_norm(std::span(p), 0); });
    add([&] {
        std::vector<float> bad{1.f, nan};
        clip_gradient_norm(std::span(bad), 1);
    });
    add([] { set_num_threads(0); });
    add([] { set_num_threads(300); });
    add([] { parallel_for(2, [](std::size_t, std::size_t, std::size_t) { set_num_threads(1); }); });
    add([] {
        parallel_for(2, [](std::size_t, std::size_t, std::size_t) { on_each_thread([](auto) {}); });
    });
    add([] { maso::detail::parse_thread_count("two", "MASO_NUM_THREADS"); });
    std::vector<float> img(5);
    activation<shape<2>, float> a{img.data(), 2};
    add([&] { to_channel_major(std::span<const float>(img), a); });
    add([&] {
        from_channel_major(activation<shape<2>, const float>{img.data(), 2}, std::span(img));
    });
    // orthogonality
    std::vector<float> w6(6, 0.5f), g6(6), out6(6);
    ortho::penalty_kernel<float> pk(2, 3);
    add([&] { pk.add_gradient(w6, g6, -1.0); });
    add([&] {
        std::vector<float> bad = w6;
        bad[4] = nan;
        pk.value(bad);
    });
    add([] { ortho::penalty_kernel<float>(0, 3); });
    add([] { ortho::cholesky_qr_kernel<float>(4, 3); });
    add([&] { pk.value(std::span<const float>(w6).first(5)); });
    add([&] { ortho::gram_schmidt_kernel<float>(2, 3).forward(w6, out6); }); // equal rows
    add([&] { ortho::gram_schmidt_kernel<float, ortho::gs_form::cgs2>(2, 3).backward(w6, g6); });
    add([&] { ortho::penalty_kernel<float>(2, 3).add_gradient_at_value(w6, g6); });
    add([] { instantiate(input<3>() >> dense<2, ortho::penalty<>>({.lambda = -1}), 1); });
    // data sets and batches (io/; the data readers' file_error problems are the io tests' to
    // check; those of checkpoints are listed with their exception and raised below)
    using namespace maso::io;
    const image_shape one{1, 2, 2};
    add([] { load_idx("images", "labels", 0); });
    add([] { load_cifar({}, cifar_format::cifar10); });
    add([&] { dataset(std::vector<float>(7), std::vector<int>{0, 1}, one, 2); });
    add([&] { dataset(std::vector<float>(8), std::vector<int>{0, 2}, one, 2, "toys"); });
    add([&] { dataset(std::vector<float>(8), std::vector<int>{0, 1}, one, 0); });
    add([&] { dataset({}, {}, image_shape{1, 0, 2}, 2); });
    std::vector<float> images(10);
    add([&] { centre_and_scale(images, 4); });
    add([&] { centre_and_scale(images, 0); });
    add([] { channel_statistics_of(dataset{}); });
    dataset toys(std::vector<float>(16), std::vector<int>{0, 1, 0, 1}, one, 2, "toys");
    add([&] { standardise(toys, {{0.0, 1.0}, {1.0}}); });
    const std::vector<int> labels{0, 1, 0, 1};
    add([&] { batch_sampler(labels, 2, {.batch = 0}); });
    add([&] { batch_sampler(std::span<const int>(), 2, {.batch = 1}); });
    add([&] { batch_sampler(labels, 0, {.batch = 1}); });
    add([&] { batch_sampler(std::vector<int>{0, 3}, 2, {.batch = 1}); });
    add([&] { batch_sampler(labels, 2, {.batch = 5}); });
    add([&] { batch_sampler(labels, 2, {.batch = 3, .order = sampling::class_balanced}); });
    add([&] {
        batch_sampler(std::vector<int>{0, 0, 1}, 2,
                      {.batch = 4, .order = sampling::class_balanced});
    });
    std::vector<float> batch(8);
    std::vector<int> out_labels(2);
    const std::vector<std::size_t> picks{0, 1}, beyond{0, 9};
    add([&] { gather(toys, picks, std::span(batch).first(7), out_labels); });
    add([&] { gather(toys, picks, batch, std::span(out_labels).first(1)); });
    add([&] { gather(toys, beyond, batch, out_labels); });
    add([&] { augmenter(one, {.pad = 2}, 0); });
    add([&] { augmenter(image_shape{0, 2, 2}, {}, 0); });
    add([&] { augmenter(one, {.pad = 1}, 0).apply(std::span(images).first(5)); });
    add([&] {
        prefetcher p(toys, batch_sampler(toys, {.batch = 2}),
                     {.augment = augmenter(image_shape{1, 4, 4}, {.pad = 1}, 0)});
    });
    training_loop_messages(add, toys);
    checkpoint_messages(add);
    inspection_messages(add);
    return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_listed_message_is_raised_and_every_raised_one_listed) {
    const auto page = messages_on_the_page();
    BOOST_REQUIRE_GT(page.size(), 40u);
    const auto calls = every_message();
    for (std::size_t i = 0; i < calls.size(); ++i)
        BOOST_TEST_CONTEXT("call " << i << ": " << calls[i].exception << " \"" << calls[i].message
                                   << "\"") {
            BOOST_CHECK_NE(calls[i].exception, "nothing");
            bool found = false;
            for (const auto& l : page)
                found = found || (l.exception == calls[i].exception && l.matches(calls[i].message));
            BOOST_CHECK_MESSAGE(found, "not on docs/errors.md");
        }
    for (const auto& l : page)
        BOOST_TEST_CONTEXT("docs/errors.md: " << l.exception << " `" << l.text << "`") {
            bool raised = false;
            for (const auto& c : calls)
                raised = raised || (l.exception == c.exception && l.matches(c.message));
            BOOST_CHECK_MESSAGE(raised, "no call raises it");
        }
}
