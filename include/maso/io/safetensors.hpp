// maso/io/safetensors.hpp — reading and writing the safetensors format, which PyTorch users
// read with safetensors.torch.load_file.
//
// The format (github.com/huggingface/safetensors, README "Format"):
//   8 bytes     N, the header's length, an unsigned little-endian 64-bit integer
//   N bytes     a JSON object in UTF-8: per tensor, its name mapped to
//               {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, and
//               optionally "__metadata__": {"key": "text", …} (strings only)
//   the rest    the data: each tensor's values, little-endian, C order, at [begin, end)
//               counted from the end of the header
//
//   maso::io::safetensors_writer w;
//   w.add("1.dense.weight", {3, 4}, weights);             // a span of float or double
//   w.set_metadata("note", "after epoch 3");
//   w.write("model.safetensors");                          // atomically
//
//   const auto f = maso::io::read_safetensors("model.safetensors");
//   const auto* t = f.find("1.dense.weight");              // dtype, shape, offsets
//   f.read(*t, std::span<float>(weights));                 // little-endian → float
//
// The writer lays out the file as the reference writer does, so that the same tensors give
// the same bytes: the tensors sorted by decreasing dtype alignment (F64 before F32), then by
// name, back to back; the header compact JSON with "__metadata__" first, padded with spaces
// to a multiple of 8 bytes so that every tensor starts aligned to its element size. write()
// goes through a temporary file renamed over the target (detail/atomic_file.hpp): a crash
// leaves the old file or the new one, never a part of either.
//
// The reader checks everything before it returns, and throws maso::file_error naming the
// file and the problem (docs/errors.md): a file too short for its header length, a header
// length over the reference's limit of 10⁸ bytes, JSON that does not parse, entries that are
// not tensors, unknown dtypes, a shape whose size differs from its offsets, tensors that
// overlap, bytes that belong to no tensor and data that stops early. Every dtype of the
// format is read (its bytes are available); read() converts F32 and F64, the two maso uses.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/detail/atomic_file.hpp>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace maso::io {

/// The element types of the format, in the reference's order of increasing alignment.
enum class dtype {
    boolean,
    u8,
    i8,
    f8_e5m2,
    f8_e4m3,
    i16,
    u16,
    f16,
    bf16,
    i32,
    u32,
    f32,
    f64,
    i64,
    u64
};

/// The format's name of a dtype: "F32", "BOOL", "F8_E4M3", …
constexpr const char* to_string(dtype d) noexcept {
    constexpr std::array<const char*, 15> names{"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3",
                                                "I16",  "U16", "F16", "BF16",    "I32",
                                                "U32",  "F32", "F64", "I64",     "U64"};
    return names[std::size_t(d)];
}

/// Bytes per element.
constexpr std::size_t size_of(dtype d) noexcept {
    constexpr std::array<std::size_t, 15> sizes{1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
    return sizes[std::size_t(d)];
}

/// The dtype of float and double.
template <class T>
requires std::is_same_v<T, float> || std::is_same_v<T, double>
inline constexpr dtype dtype_of = std::is_same_v<T, float> ? dtype::f32 : dtype::f64;

/// One tensor of a file: where its bytes lie in the data section.
struct tensor_info {
    std::string name;
    io::dtype dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin, end; ///< data_offsets: [begin, end) of the data section

    std::uint64_t elements() const noexcept {
        std::uint64_t n = 1;
        for (const std::uint64_t e : shape)
            n *= e;
        return n;
    }
};

/// "[2, 3]", as the format writes a shape (a scalar is "[]").
inline std::string shape_string(std::span<const std::uint64_t> shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace detail {

/// The reference implementation's limit on the header's length.
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

/// Copies n elements of T between little-endian bytes and values, whatever the host order.
template <class T>
void from_little_endian(const std::uint8_t* in, T* out, std::size_t n) noexcept {
    std::memcpy(out, in, n * sizeof(T));
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t i = 0; i < n; ++i) {
            auto* b = reinterpret_cast<std::uint8_t*>(out + i);
            std::reverse(b, b + sizeof(T));
        }
}
template <class T>
void to_little_endian(const T* in, std::uint8_t* out, std::size_t n) noexcept {
    std::memcpy(out, in, n * sizeof(T));
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t i = 0; i < n; ++i)
            std::reverse(out + i * sizeof(T), out + (i + 1) * sizeof(T));
}

/// zlib's crc32 over any length (its length argument is 32-bit).
inline std::uint32_t crc32_of(std::uint32_t crc, std::span<const std::uint8_t> bytes) noexcept {
    uLong c = crc;
    while (!bytes.empty()) {
        const std::size_t n = std::min<std::size_t>(bytes.size(), 1u << 30);
        c = ::crc32(c, bytes.data(), uInt(n));
        bytes = bytes.subspan(n);
    }
    return std::uint32_t(c);
}

/// The whole of a regular file; file_error as the data readers report it (docs/errors.md).
inline std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& p) {
    const std::string path = p.string();
    std::error_code ec;
    const auto st = std::filesystem::status(p, ec);
    if (!std::filesystem::exists(st)) throw file_error(path, "no such file");
    if (!std::filesystem::is_regular_file(st)) throw file_error(path, "not a regular file");
    errno = 0;
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"),
                                                            &std::fclose);
    if (!f) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
    std::vector<std::uint8_t> bytes;
    std::size_t chunk = 1u << 16;
    for (;;) {
        const std::size_t old = bytes.size();
        bytes.resize(old + chunk);
        const std::size_t got = std::fread(bytes.data() + old, 1, chunk, f.get());
        bytes.resize(old + got);
        if (got < chunk) break;
        chunk = std::min<std::size_t>(2 * chunk, 1u << 26);
    }
    if (std::ferror(f.get()))
        throw file_error(path, std::string("read error: ") + std::strerror(errno));
    return bytes;
}

/// Throws value_error if `text` cannot go into JSON (it is not valid UTF-8).
inline void check_utf8(const std::string& text, const char* what) {
    try {
        (void)nlohmann::json(text).dump();
    } catch (const nlohmann::json::type_error&) {
        throw value_error(std::string("maso: safetensors: ") + what + " \"" + text +
                          "\" is not valid UTF-8");
    }
}

} // namespace detail

/// A safetensors file read and checked: its tensors, its metadata and its data section.
class safetensors_file {
public:
    const std::string& path() const noexcept { return path_; }
    /// The tensors, in the order of their data.
    const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
    /// The tensor of that name, or nullptr.
    const tensor_info* find(std::string_view name) const {
        const auto it = std::find_if(tensors_.begin(), tensors_.end(),
                                     [&](const tensor_info& t) { return t.name == name; });
        return it == tensors_.end() ? nullptr : &*it;
    }
    /// "__metadata__", empty if the file has none.
    const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
    /// The data section: every tensor's bytes, back to back.
    std::span<const std::uint8_t> data() const noexcept {
        return std::span<const std::uint8_t>(bytes_).subspan(data_begin_);
    }
    /// A tensor's bytes.
    std::span<const std::uint8_t> bytes(const tensor_info& t) const noexcept {
        return data().subspan(std::size_t(t.begin), std::size_t(t.end - t.begin));
    }
    /// CRC-32 of the data section, as zlib.crc32(data) in Python computes it.
    std::uint32_t data_crc32() const noexcept { return detail::crc32_of(0, data()); }

    /// Copies an F32 (float) or F64 (double) tensor into `out`. The dtype must be T's and
    /// out.size() the tensor's element count: value_error, size_error otherwise.
    template <class T>
    void read(const tensor_info& t, std::span<T> out) const {
        if (t.dtype != dtype_of<T>)
            throw value_error("maso: safetensors: tensor \"" + t.name + "\" is " +
                              to_string(t.dtype) + ", not " + to_string(dtype_of<T>));
        maso::detail::check_same_size(std::size_t(t.elements()), out.size(),
                                      "the buffer for a safetensors tensor");
        detail::from_little_endian(bytes(t).data(), out.data(), out.size());
    }

    friend safetensors_file read_safetensors(const std::filesystem::path& p);

private:
    [[noreturn]] void fail(const std::string& problem) const { throw file_error(path_, problem); }
    void parse();
    void parse_entry(const std::string& name, const nlohmann::json& entry);
    void check_layout();

    std::string path_;
    std::vector<std::uint8_t> bytes_; ///< the whole file
    std::size_t data_begin_ = 0;
    std::vector<tensor_info> tensors_;
    std::map<std::string, std::string> metadata_;
};

/// Reads and checks a safetensors file; file_error naming the file and the problem.
inline safetensors_file read_safetensors(const std::filesystem::path& p) {
    safetensors_file f;
    f.path_ = p.string();
    f.bytes_ = detail::read_whole_file(p);
    f.parse();
    return f;
}

inline void safetensors_file::parse() {
    if (bytes_.size() < 8)
        fail("truncated: " + std::to_string(bytes_.size()) +
             " bytes, shorter than the 8-byte header length");
    std::uint64_t n = 0;
    detail::from_little_endian(bytes_.data(), &n, 1);
    if (n > detail::max_header_bytes)
        fail("malformed: the header length " + std::to_string(n) + " is more than the " +
             std::to_string(detail::max_header_bytes) + " bytes safetensors allows");
    if (n > bytes_.size() - 8)
        fail("truncated: the header length is " + std::to_string(n) + " bytes but only " +
             std::to_string(bytes_.size() - 8) + " bytes follow it");
    data_begin_ = 8 + std::size_t(n);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(bytes_.begin() + 8, bytes_.begin() + std::ptrdiff_t(8 + n));
    } catch (const nlohmann::json::exception& e) {
        std::string what = e.what();
        // "[json.exception.parse_error.101] parse error at …": the part after the tag.
        if (const auto tag = what.find("] "); what.rfind("[json.", 0) == 0 && tag != what.npos)
            what.erase(0, tag + 2);
        fail("malformed header: not valid JSON (" + what + ")");
    }
    if (!header.is_object()) fail("malformed header: not a JSON object");
    for (const auto& [name, entry] : header.items()) {
        if (name != "__metadata__") {
            parse_entry(name, entry);
            continue;
        }
        if (!entry.is_object()) fail("malformed header: __metadata__ is not an object of strings");
        for (const auto& [key, value] : entry.items()) {
            if (!value.is_string())
                fail("malformed header: __metadata__ is not an object of strings");
            metadata_.emplace(key, value.get<std::string>());
        }
    }
    check_layout();
}

inline void safetensors_file::parse_entry(const std::string& name, const nlohmann::json& e) {
    const auto whole = [](const nlohmann::json& v) { return v.is_number_unsigned(); };
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") ||
        !e.contains("data_offsets") || !e["dtype"].is_string() || !e["shape"].is_array() ||
        !std::all_of(e["shape"].begin(), e["shape"].end(), whole) ||
        !e["data_offsets"].is_array() || e["data_offsets"].size() != 2 ||
        !std::all_of(e["data_offsets"].begin(), e["data_offsets"].end(), whole))
        fail("malformed header: tensor \"" + name +
             "\" is not an object with a dtype, a shape of whole numbers and two whole "
             "data_offsets");
    tensor_info t{name,
                  dtype::f32,
                  {},
                  e["data_offsets"][0].get<std::uint64_t>(),
                  e["data_offsets"][1].get<std::uint64_t>()};
    const std::string d = e["dtype"].get<std::string>();
    bool known = false;
    for (int k = 0; k < 15 && !known; ++k)
        if (d == to_string(dtype(k))) t.dtype = dtype(k), known = true;
    if (!known)
        fail("malformed header: tensor \"" + name + "\" has an unknown dtype \"" + d + "\"");
    std::uint64_t bytes = size_of(t.dtype);
    bool overflow = false;
    for (const auto& extent : e["shape"]) {
        const std::uint64_t x = extent.get<std::uint64_t>();
        t.shape.push_back(x);
        if (x != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / x) overflow = true;
        bytes *= x;
    }
    if (std::find(t.shape.begin(), t.shape.end(), 0u) != t.shape.end()) bytes = 0, overflow = false;
    if (overflow || t.end < t.begin || t.end - t.begin != bytes)
        fail("malformed header: tensor \"" + name + "\" has shape " + shape_string(t.shape) +
             " of " + to_string(t.dtype) + " (" +
             (overflow ? std::string("more bytes than a file holds")
                       : std::to_string(bytes) + " bytes") +
             "), but data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
             "]");
    tensors_.push_back(std::move(t));
}

/// The tensors must tile the data section: from 0, back to back, to its end.
inline void safetensors_file::check_layout() {
    std::sort(tensors_.begin(), tensors_.end(), [](const tensor_info& a, const tensor_info& b) {
        return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
    });
    const std::uint64_t size = bytes_.size() - data_begin_;
    std::uint64_t at = 0;
    const tensor_info* previous = nullptr;
    for (const tensor_info& t : tensors_) {
        if (t.begin < at)
            fail("malformed: tensors \"" + previous->name + "\" and \"" + t.name +
                 "\" overlap in the data");
        if (t.begin > at && t.begin <= size)
            fail("malformed: bytes [" + std::to_string(at) + ", " + std::to_string(t.begin) +
                 ") of the data belong to no tensor");
        at = t.end;
        previous = &t;
    }
    if (at > size)
        fail("truncated: the tensors need " + std::to_string(at) +
             " bytes of data, the file holds " + std::to_string(size));
    if (at < size)
        fail("malformed: bytes [" + std::to_string(at) + ", " + std::to_string(size) +
             ") of the data belong to no tensor");
}

/// Builds a safetensors file from tensors and metadata, and writes it atomically.
class safetensors_writer {
public:
    /// Adds a tensor of float (F32) or double (F64) values, copied now. The name must be
    /// new, not "__metadata__", and valid UTF-8, as metadata keys and values must be
    /// (value_error); the shape's product must be values.size() (size_error).
    template <class T>
    void add(std::string name, std::vector<std::uint64_t> shape, std::span<const T> values) {
        if (name == "__metadata__")
            throw value_error("maso: safetensors: \"__metadata__\" cannot name a tensor");
        if (std::any_of(entries_.begin(), entries_.end(),
                        [&](const entry& e) { return e.info.name == name; }))
            throw value_error("maso: safetensors: the tensor name \"" + name + "\" is used twice");
        detail::check_utf8(name, "the tensor name");
        tensor_info info{std::move(name), dtype_of<T>, std::move(shape), 0, 0};
        if (info.elements() != values.size())
            throw size_error("maso: safetensors: tensor \"" + info.name + "\" has shape " +
                             shape_string(info.shape) + " of " + std::to_string(info.elements()) +
                             " values, but " + std::to_string(values.size()) + " were given");
        std::vector<std::uint8_t> bytes(values.size() * sizeof(T));
        detail::to_little_endian(values.data(), bytes.data(), values.size());
        entries_.push_back({std::move(info), std::move(bytes)});
    }
    template <class T>
    void add(std::string name, std::vector<std::uint64_t> shape, std::span<T> values) {
        add(std::move(name), std::move(shape), std::span<const T>(values));
    }

    /// Sets a "__metadata__" entry (valid UTF-8, else value_error).
    void set_metadata(const std::string& key, const std::string& value) {
        detail::check_utf8(key, "the metadata key");
        detail::check_utf8(value, "the metadata value");
        metadata_[key] = value;
    }
    const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

    /// The tensors as write() lays them out: by decreasing alignment, then name.
    std::vector<tensor_info> layout() const {
        std::vector<tensor_info> out;
        for (const std::size_t k : order()) {
            tensor_info t = entries_[k].info;
            t.begin = out.empty() ? 0 : out.back().end;
            t.end = t.begin + entries_[k].bytes.size();
            out.push_back(std::move(t));
        }
        return out;
    }

    /// CRC-32 of the data section write() writes (zlib's crc32, as Python's zlib.crc32).
    std::uint32_t data_crc32() const {
        std::uint32_t crc = 0;
        for (const std::size_t k : order())
            crc = detail::crc32_of(crc, entries_[k].bytes);
        return crc;
    }

    /// The header: its 8-byte length, then the JSON padded with spaces to a multiple of 8.
    std::vector<std::uint8_t> header() const {
        nlohmann::ordered_json j = nlohmann::ordered_json::object();
        if (!metadata_.empty()) j["__metadata__"] = metadata_;
        for (const tensor_info& t : layout()) {
            nlohmann::ordered_json e;
            e["dtype"] = to_string(t.dtype);
            e["shape"] = t.shape;
            e["data_offsets"] = {t.begin, t.end};
            j[t.name] = std::move(e);
        }
        std::string text = j.dump();
        text.append((8 - text.size() % 8) % 8, ' ');
        std::vector<std::uint8_t> out(8 + text.size());
        const std::uint64_t n = text.size();
        detail::to_little_endian(&n, out.data(), 1);
        std::memcpy(out.data() + 8, text.data(), text.size());
        return out;
    }

    /// The whole file, as bytes.
    std::vector<std::uint8_t> bytes() const {
        std::vector<std::uint8_t> out = header();
        for (const std::size_t k : order())
            out.insert(out.end(), entries_[k].bytes.begin(), entries_[k].bytes.end());
        return out;
    }

    /// Writes the file atomically (detail/atomic_file.hpp): file_error naming the path if it
    /// cannot, and then the file that was there is untouched.
    void write(const std::filesystem::path& p) const {
        detail::temporary_file out(p);
        out.write(header());
        for (const std::size_t k : order())
            out.write(entries_[k].bytes);
        out.commit();
    }

private:
    struct entry {
        tensor_info info;
        std::vector<std::uint8_t> bytes;
    };

    std::vector<std::size_t> order() const {
        std::vector<std::size_t> k(entries_.size());
        for (std::size_t i = 0; i < k.size(); ++i)
            k[i] = i;
        std::sort(k.begin(), k.end(), [&](std::size_t a, std::size_t b) {
            const tensor_info &x = entries_[a].info, &y = entries_[b].info;
            if (x.dtype != y.dtype) return x.dtype > y.dtype;
            return x.name < y.name;
        });
        return k;
    }

    std::vector<entry> entries_;
    std::map<std::string, std::string> metadata_;
};

} // namespace maso::io
