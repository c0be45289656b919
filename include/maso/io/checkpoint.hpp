// maso/io/checkpoint.hpp — saving and resuming training: a model, optionally its optimiser,
// the step, a random state and the caller's own metadata, in one safetensors file.
//
//   maso::io::save_checkpoint("run.safetensors", model, opt,
//                             {.step = step, .random_state = maso::io::random_state_text(rng),
//                              .metadata = {{"sampler.epoch", std::to_string(epoch)}}});
//   …
//   auto model = instantiate(net, batch);        // a fresh model and optimiser, same network
//   maso::adam opt(model, options);
//   const maso::io::checkpoint_state st = maso::io::load_checkpoint("run.safetensors", model, opt);
//   // st.step, st.random_state, st.metadata; training goes on bitwise as if never stopped
//
// The file is a safetensors file (io/safetensors.hpp) that PyTorch users read by name with
// safetensors.torch.load_file: the model's tensors as model.state_dict() names and shapes
// them ("3.conv2d.weight", [Cout, Cin, K, K]), in the model's float or double (F32, F64),
// and the optimiser's state as it names it ("optimizer.exp_avg.3.conv2d.weight", F32). Its
// "__metadata__" holds, as text:
//   maso.checkpoint          the checkpoint format, 1
//   maso.version             the maso that wrote it, "0.1.0"
//   maso.signature           model.signature(): one line per node, its kind and shape
//   maso.step                the caller's step
//   maso.random_state        the caller's random state (io/random_state.hpp)
//   maso.optimizer           the optimiser's name ("adam", "sgd"), with maso.optimizer.options
//                            (its options as JSON) and maso.optimizer.step_count; absent
//                            without an optimiser
//   maso.data_crc32          CRC-32 of the data section, "0x" and 8 hex digits (zlib's crc32,
//                            as Python's zlib.crc32 computes it)
//   maso.header_crc32        CRC-32 of the tensor table and of every other metadata entry
//   any key of the caller's that does not start with "maso."
// Why two checksums: a flipped byte in the data changes the data CRC; one in the header that
// still parses (a digit of the step, a letter of the random state) changes the header CRC,
// which is computed from what the header says rather than its bytes (names in order, dtype,
// shape and offsets; then each metadata key and value), so it does not depend on how a JSON
// writer spaced or ordered them.
//
// save_checkpoint writes atomically (a temporary file in the same directory, flushed and
// renamed over the target): if it fails, or the program dies, the previous checkpoint is intact.
// load_checkpoint checks everything before it changes anything, and throws maso::file_error
// naming the file and the problem (docs/errors.md): not a maso checkpoint, a future format, a
// corrupt header or data, a checkpoint of another network (naming the first line where the
// signatures differ), a tensor missing, of another dtype or shape, or unknown; with an
// optimiser, no optimiser state or another optimiser's. After a failed load the model and the
// optimiser are exactly as they were.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/safetensors.hpp>
#include <maso/train/parameter.hpp>
#include <maso/version.hpp>

#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace maso::io {

/// What a checkpoint holds besides tensors: saved as given, returned by load_checkpoint.
struct checkpoint_state {
    std::uint64_t step = 0;                           ///< the caller's step count
    std::string random_state = {};                    ///< e.g. random_state_text(rng)
    std::map<std::string, std::string> metadata = {}; ///< anything else; not "maso.*" keys
};

/// The checkpoint format this maso writes, and the newest it reads.
inline constexpr int checkpoint_format = 1;

/// What save_checkpoint and load_checkpoint need of a model: its tensors by name and its
/// signature (train/model.hpp).
template <class M>
concept checkpointable_model = requires(M& m, const M& cm) {
    typename M::value_type;
    { m.state_dict() } -> std::same_as<std::vector<parameter_ref<typename M::value_type>>>;
    { cm.signature() } -> std::convertible_to<std::string>;
};

/// What they need of an optimiser (train/sgd.hpp, train/adam.hpp): a name, its options, its
/// state as float tensors by name, and its step count.
template <class O>
concept checkpointable_optimizer = requires(O& o, const O& co, std::uint64_t n) {
    { O::name() } -> std::convertible_to<std::string>;
    { co.options_json() } -> std::convertible_to<std::string>;
    { o.state_dict() } -> std::same_as<std::vector<parameter_ref<float>>>;
    { co.step_count() } -> std::convertible_to<std::uint64_t>;
    o.set_step_count(n);
};

namespace detail {

/// A placeholder for "no optimiser".
struct no_optimizer {
    static constexpr const char* name() noexcept { return ""; }
    std::string options_json() const { return ""; }
    std::vector<parameter_ref<float>> state_dict() { return {}; }
    std::uint64_t step_count() const noexcept { return 0; }
    void set_step_count(std::uint64_t) noexcept {}
};

inline std::string version_string() {
    return std::to_string(version_major) + "." + std::to_string(version_minor) + "." +
           std::to_string(version_patch);
}

inline std::string checksum_text(std::uint32_t v) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", unsigned(v));
    return text;
}

/// What the header CRC covers: every tensor's name, dtype, shape and offsets in name order,
/// then every metadata entry but maso.header_crc32 in key order, each field ended by a NUL.
inline std::uint32_t header_crc32(std::vector<tensor_info> tensors,
                                  const std::map<std::string, std::string>& metadata) {
    std::sort(tensors.begin(), tensors.end(),
              [](const tensor_info& a, const tensor_info& b) { return a.name < b.name; });
    std::string text;
    const auto field = [&](const std::string& s) { text.append(s).push_back('\0'); };
    for (const tensor_info& t : tensors) {
        field(t.name);
        field(to_string(t.dtype));
        field(shape_string(t.shape));
        field(std::to_string(t.begin) + " " + std::to_string(t.end));
    }
    for (const auto& [key, value] : metadata)
        if (key != "maso.header_crc32") {
            field(key);
            field(value);
        }
    return crc32_of(0, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

/// A whole decimal or (with "0x") hexadecimal number, or false.
inline bool parse_number(const std::string& s, std::uint64_t& out) {
    const bool hex = s.rfind("0x", 0) == 0;
    const char* begin = s.data() + (hex ? 2 : 0);
    const char* end = s.data() + s.size();
    if (begin == end) return false;
    const auto r = std::from_chars(begin, end, out, hex ? 16 : 10);
    return r.ec == std::errc() && r.ptr == end;
}

inline std::vector<std::uint64_t> shape_of(const std::vector<std::size_t>& shape) {
    return {shape.begin(), shape.end()};
}

/// The lines of a signature.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        lines.push_back(text.substr(at, end - at));
        at = end + 1;
    }
    return lines;
}

template <class Model, class Optimizer>
void save(const std::filesystem::path& path, Model& model, Optimizer& optimizer,
          const checkpoint_state& state, bool with_optimizer) {
    for (const auto& [key, value] : state.metadata)
        if (key.rfind("maso.", 0) == 0)
            throw value_error("maso: save_checkpoint: the metadata key \"" + key +
                              "\" is reserved: keys starting with \"maso.\" are maso's");
    safetensors_writer w;
    for (const auto& p : model.state_dict())
        w.add(p.name, shape_of(p.shape), std::span<const typename Model::value_type>(p.value));
    if (with_optimizer)
        for (const auto& s : optimizer.state_dict())
            w.add(s.name, shape_of(s.shape), std::span<const float>(s.value));
    for (const auto& [key, value] : state.metadata)
        w.set_metadata(key, value);
    w.set_metadata("maso.checkpoint", std::to_string(checkpoint_format));
    w.set_metadata("maso.version", version_string());
    w.set_metadata("maso.signature", model.signature());
    w.set_metadata("maso.step", std::to_string(state.step));
    w.set_metadata("maso.random_state", state.random_state);
    if (with_optimizer) {
        w.set_metadata("maso.optimizer", Optimizer::name());
        w.set_metadata("maso.optimizer.options", optimizer.options_json());
        w.set_metadata("maso.optimizer.step_count", std::to_string(optimizer.step_count()));
    }
    w.set_metadata("maso.data_crc32", checksum_text(w.data_crc32()));
    w.set_metadata("maso.header_crc32", checksum_text(header_crc32(w.layout(), w.metadata())));
    w.write(path);
}

[[noreturn]] inline void fail_on(const safetensors_file& f, const std::string& problem) {
    throw file_error(f.path(), problem);
}

/// One tensor to load: where it comes from in the file and where it goes.
template <class T>
struct pending_copy {
    const tensor_info* from;
    std::span<T> to;
};

template <class Model, class Optimizer>
checkpoint_state load(const std::filesystem::path& path, Model& model, Optimizer& optimizer,
                      bool with_optimizer) {
    using T = typename Model::value_type;
    const safetensors_file f = read_safetensors(path);
    const auto fail = [&f](const std::string& problem) { fail_on(f, problem); };
    const auto& meta = f.metadata();
    const auto entry = [&](const char* key) -> const std::string* {
        const auto it = meta.find(key);
        return it == meta.end() ? nullptr : &it->second;
    };
    const auto number = [&](const char* key) {
        std::uint64_t v = 0;
        const std::string* text = entry(key);
        if (!text || !parse_number(*text, v))
            fail(std::string("malformed metadata: ") + key +
                 (text ? " = \"" + *text + "\" is not a whole number" : " is missing"));
        return v;
    };

    // What the file is, before trusting anything else in it.
    const std::string* format = entry("maso.checkpoint");
    if (!format) fail("not a maso checkpoint: its metadata has no maso.checkpoint entry");
    if (const std::uint64_t n = number("maso.checkpoint"); n > std::uint64_t(checkpoint_format)) {
        const std::string* by = entry("maso.version");
        fail("written by maso " + (by ? *by : std::string("of an unknown version")) +
             " in checkpoint format " + *format + "; this maso (" + version_string() +
             ") reads format " + std::to_string(checkpoint_format) + " and older");
    }
    const auto header_crc = std::uint32_t(number("maso.header_crc32"));
    if (const std::uint32_t c = header_crc32(f.tensors(), meta); c != header_crc)
        fail("the header is corrupt: its CRC-32 is " + checksum_text(c) +
             ", maso.header_crc32 says " + checksum_text(header_crc));
    const auto data_crc = std::uint32_t(number("maso.data_crc32"));
    if (const std::uint32_t c = f.data_crc32(); c != data_crc)
        fail("the data is corrupt: its CRC-32 is " + checksum_text(c) + ", maso.data_crc32 says " +
             checksum_text(data_crc));

    // The network: the same nodes and shapes, line by line.
    const std::string* signature = entry("maso.signature");
    if (!signature) fail("malformed metadata: maso.signature is missing");
    const auto theirs = lines_of(*signature), ours = lines_of(model.signature());
    for (std::size_t i = 0; i < std::max(theirs.size(), ours.size()); ++i) {
        const auto line = [&](const std::vector<std::string>& l) {
            return i < l.size() ? "\"" + l[i] + "\"" : std::string("absent");
        };
        if (line(theirs) != line(ours))
            fail("written for another network: line " + std::to_string(i + 1) +
                 " of its signature is " + line(theirs) + ", this model's is " + line(ours));
    }

    // Every tensor found, of the right dtype and shape, before anything is copied.
    std::vector<const tensor_info*> used;
    const auto match = [&](const std::string& name, io::dtype type,
                           const std::vector<std::size_t>& shape, const char* owner) {
        const tensor_info* t = f.find(name);
        if (!t) fail_on(f, "tensor \"" + name + "\" of the " + owner + " is missing");
        if (t->dtype != type || t->shape != shape_of(shape))
            fail("tensor \"" + name + "\" is " + to_string(t->dtype) + " " +
                 shape_string(t->shape) + " in the file, " + to_string(type) + " " +
                 shape_string(shape_of(shape)) + " in the " + owner);
        used.push_back(t);
        return t;
    };
    std::vector<pending_copy<T>> model_copies;
    for (auto& p : model.state_dict())
        model_copies.push_back({match(p.name, dtype_of<T>, p.shape, "model"), p.value});
    std::vector<pending_copy<float>> optimizer_copies;
    std::uint64_t optimizer_steps = 0;
    if (with_optimizer) {
        const std::string* name = entry("maso.optimizer");
        if (!name) fail("holds no optimiser state: it was saved without an optimiser");
        if (*name != Optimizer::name())
            fail("holds the state of a \"" + *name + "\" optimiser, not of a \"" +
                 Optimizer::name() + "\"");
        optimizer_steps = number("maso.optimizer.step_count");
        for (auto& s : optimizer.state_dict())
            optimizer_copies.push_back({match(s.name, dtype::f32, s.shape, "optimiser"), s.value});
    }
    for (const tensor_info& t : f.tensors()) {
        const bool optimizer_state = t.name.rfind("optimizer.", 0) == 0;
        if (optimizer_state && !with_optimizer) continue; // loading the model alone
        if (std::find(used.begin(), used.end(), &t) == used.end())
            fail("tensor \"" + t.name + "\" is not in the " +
                 (optimizer_state ? "optimiser's state" : "model"));
    }
    checkpoint_state state;
    state.step = number("maso.step");
    if (const std::string* r = entry("maso.random_state")) state.random_state = *r;
    for (const auto& [key, value] : meta)
        if (key.rfind("maso.", 0) != 0) state.metadata.emplace(key, value);

    // Nothing can fail from here on: the model and the optimiser change together.
    for (const auto& c : model_copies)
        f.read(*c.from, c.to);
    for (const auto& c : optimizer_copies)
        f.read(*c.from, c.to);
    if (with_optimizer) optimizer.set_step_count(optimizer_steps);
    return state;
}

} // namespace detail

/// Saves a model's tensors, the step, the random state and the caller's metadata.
template <checkpointable_model Model>
void save_checkpoint(const std::filesystem::path& path, Model& model,
                     const checkpoint_state& state = {}) {
    detail::no_optimizer none;
    detail::save(path, model, none, state, false);
}

/// Saves a model and its optimiser's state, the step, the random state and the caller's
/// metadata.
template <checkpointable_model Model, checkpointable_optimizer Optimizer>
void save_checkpoint(const std::filesystem::path& path, Model& model, Optimizer& optimizer,
                     const checkpoint_state& state = {}) {
    detail::save(path, model, optimizer, state, true);
}

/// Loads a model's tensors (any optimiser state in the file is left aside) and returns the
/// step, random state and metadata saved with them.
template <checkpointable_model Model>
checkpoint_state load_checkpoint(const std::filesystem::path& path, Model& model) {
    detail::no_optimizer none;
    return detail::load(path, model, none, false);
}

/// Loads a model and its optimiser's state and step count; returns the step, random state
/// and metadata saved with them.
template <checkpointable_model Model, checkpointable_optimizer Optimizer>
checkpoint_state load_checkpoint(const std::filesystem::path& path, Model& model,
                                 Optimizer& optimizer) {
    return detail::load(path, model, optimizer, true);
}

} // namespace maso::io
