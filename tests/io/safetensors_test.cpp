// Tests of include/maso/io/safetensors.hpp: files built here byte by byte from the format's
// description (and the reference implementation's published examples) read back; written
// files equal to those bytes, and their header parsed here as JSON the way another reader
// would; round trips of F32 and F64 (every bit of every value); each malformed file refused
// with its own problem; the writer's refusals; and atomic writes: the old file intact, and
// no temporary file left, when a write fails half-way.
#include <maso/io/safetensors.hpp>

#include <maso_test/io_files.hpp>

#include <nlohmann/json.hpp>

#include <bit>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace maso;
using maso_test::bytes;
using maso_test::message_of;

namespace {

/// n as 8 little-endian bytes, then the header text, then the data.
bytes file_of(const std::string& header, const bytes& data = {}, std::uint64_t n = ~0ull) {
    if (n == ~0ull) n = header.size();
    bytes b;
    for (int i = 0; i < 8; ++i)
        b.push_back(std::uint8_t(n >> (8 * i)));
    b.insert(b.end(), header.begin(), header.end());
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

/// Floats as little-endian bytes, written out by shifting (independent of the code's memcpy).
bytes le_floats(const std::vector<float>& v) {
    bytes b;
    for (const float x : v) {
        const auto u = std::bit_cast<std::uint32_t>(x);
        for (int i = 0; i < 4; ++i)
            b.push_back(std::uint8_t(u >> (8 * i)));
    }
    return b;
}
bytes le_doubles(const std::vector<double>& v) {
    bytes b;
    for (const double x : v) {
        const auto u = std::bit_cast<std::uint64_t>(x);
        for (int i = 0; i < 8; ++i)
            b.push_back(std::uint8_t(u >> (8 * i)));
    }
    return b;
}

bytes slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

/// The problem part of the file_error that reading these bytes raises.
std::string problem_of(const bytes& b) {
    maso_test::temp_dir dir;
    const auto p = dir / "bad.safetensors";
    maso_test::write_plain(p, b);
    const std::string m = message_of<file_error>([&] { io::read_safetensors(p); });
    const std::string prefix = "maso: " + p.string() + ": ";
    BOOST_CHECK_MESSAGE(m.rfind(prefix, 0) == 0, "\"" << m << "\" does not name the file");
    return m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m;
}

/// Names of the entries of a directory.
std::vector<std::string> listing(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_reference_examples_byte_for_byte) {
    // The examples of the reference implementation's tests: "attn.0", F32 [1, 2, 3] holding
    // 0..5 is a 64-byte header (no padding needed) followed by the 24 data bytes.
    const std::vector<float> values{0, 1, 2, 3, 4, 5};
    const bytes expected = file_of(
        R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})", le_floats(values));
    BOOST_REQUIRE_EQUAL(expected.size(), 8u + 64 + 24);
    io::safetensors_writer w;
    w.add("attn.0", {1, 2, 3}, std::span<const float>(values));
    BOOST_CHECK(w.bytes() == expected);
    // A 65-byte header is padded with 7 spaces, so the data starts 8-aligned.
    io::safetensors_writer w2;
    w2.add("attn0", {1, 1, 2, 3}, std::span<const float>(values));
    BOOST_CHECK(w2.bytes() == file_of(R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],)"
                                      R"("data_offsets":[0,24]}}       )",
                                      le_floats(values)));
    // No tensors: "{}" and 6 spaces; metadata comes first, under "__metadata__".
    BOOST_CHECK(io::safetensors_writer().bytes() == file_of("{}      "));
    io::safetensors_writer w3;
    w3.set_metadata("framework", "pt");
    BOOST_CHECK(w3.bytes() == file_of(R"({"__metadata__":{"framework":"pt"}}     )"));

    maso_test::temp_dir dir;
    maso_test::write_plain(dir / "a.safetensors", expected);
    const auto f = io::read_safetensors(dir / "a.safetensors");
    BOOST_REQUIRE_EQUAL(f.tensors().size(), 1u);
    const io::tensor_info& t = f.tensors()[0];
    BOOST_CHECK_EQUAL(t.name, "attn.0");
    BOOST_CHECK(t.dtype == io::dtype::f32);
    BOOST_CHECK(t.shape == (std::vector<std::uint64_t>{1, 2, 3}));
    BOOST_CHECK_EQUAL(t.begin, 0u);
    BOOST_CHECK_EQUAL(t.end, 24u);
    std::vector<float> got(6);
    f.read(t, std::span<float>(got));
    BOOST_CHECK(got == values);
    BOOST_CHECK(f.metadata().empty());
}

BOOST_AUTO_TEST_CASE(a_file_written_by_hand_is_read) {
    // Tensors out of data order, spaces and newlines in the JSON, a scalar, an empty tensor,
    // another dtype (read as bytes), metadata, and trailing spaces.
    const std::string header = "{\n  \"b\": {\"data_offsets\": [16, 28], \"dtype\": \"F32\", "
                               "\"shape\": [3]},\n  \"__metadata__\": {\"epoch\": \"7\", "
                               "\"note\": \"caf\xc3\xa9\"},\n  \"a\": {\"dtype\": \"F64\", "
                               "\"shape\": [2], \"data_offsets\": [0, 16]},\n  \"s\": "
                               "{\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [28, 32]},"
                               "\n  \"e\": {\"dtype\": \"F32\", \"shape\": [4, 0], "
                               "\"data_offsets\": [32, 32]},\n  \"i\": {\"dtype\": \"I16\", "
                               "\"shape\": [2], \"data_offsets\": [32, 36]}}   ";
    bytes data = le_doubles({-0.0, 1e300});
    const bytes floats = le_floats({1.5f, std::numeric_limits<float>::infinity(), -3.f, 7.f});
    data.insert(data.end(), floats.begin(), floats.end());
    data.insert(data.end(), {0x01, 0x00, 0xff, 0xff});
    maso_test::temp_dir dir;
    maso_test::write_plain(dir / "hand.safetensors", file_of(header, data));
    const auto f = io::read_safetensors(dir / "hand.safetensors");
    BOOST_REQUIRE_EQUAL(f.tensors().size(), 5u);
    BOOST_CHECK_EQUAL(f.tensors()[0].name, "a"); // in data order
    BOOST_CHECK_EQUAL(f.metadata().at("epoch"), "7");
    BOOST_CHECK_EQUAL(f.metadata().at("note"), "caf\xc3\xa9");
    std::vector<double> a(2);
    f.read(*f.find("a"), std::span<double>(a));
    BOOST_CHECK(std::signbit(a[0]) && a[0] == 0.0);
    BOOST_CHECK_EQUAL(a[1], 1e300);
    std::vector<float> b(3), s(1);
    f.read(*f.find("b"), std::span<float>(b));
    BOOST_CHECK(b == (std::vector<float>{1.5f, std::numeric_limits<float>::infinity(), -3.f}));
    f.read(*f.find("s"), std::span<float>(s));
    BOOST_CHECK_EQUAL(s[0], 7.f);
    BOOST_CHECK(f.find("s")->shape.empty());
    BOOST_CHECK_EQUAL(f.find("e")->elements(), 0u);
    const auto i16 = f.bytes(*f.find("i"));
    BOOST_CHECK(f.find("i")->dtype == io::dtype::i16);
    BOOST_CHECK(bytes(i16.begin(), i16.end()) == (bytes{0x01, 0x00, 0xff, 0xff}));
    BOOST_CHECK(f.find("nothing") == nullptr);
    // read() converts only into its own dtype and size.
    std::vector<double> wrong(3);
    BOOST_CHECK_EQUAL(message_of<value_error>([&] { f.read(*f.find("b"), std::span(wrong)); }),
                      "maso: safetensors: tensor \"b\" is F32, not F64");
    std::vector<float> small(2);
    BOOST_CHECK_EQUAL(message_of<size_error>([&] { f.read(*f.find("b"), std::span(small)); }),
                      "maso: the buffer for a safetensors tensor has 2 elements, expected 3");
}

BOOST_AUTO_TEST_CASE(round_trip_of_f32_and_f64_every_bit) {
    std::vector<float> w{0.f,
                         -0.f,
                         1e-45f,
                         -3.4e38f,
                         std::numeric_limits<float>::infinity(),
                         std::bit_cast<float>(0x7fc01234u),
                         0.1f,
                         1.f / 3};
    std::vector<double> d{1e-320, -2.5, std::bit_cast<double>(0x7ff8000000000abcull), 1.0 / 7};
    std::vector<float> one{42.f};
    io::safetensors_writer wr;
    wr.add("z.weight", {2, 2, 2}, std::span<float>(w));
    wr.add("m.double", {4}, std::span<double>(d));
    wr.add("a.scalar", {}, std::span<float>(one));
    wr.set_metadata("maso.step", "12");
    wr.set_metadata("k", "");
    maso_test::temp_dir dir;
    wr.write(dir / "r.safetensors");
    BOOST_CHECK(listing(dir.path()) == std::vector<std::string>{"r.safetensors"}); // no temp
    const auto f = io::read_safetensors(dir / "r.safetensors");
    std::vector<float> w2(8), one2(1);
    std::vector<double> d2(4);
    f.read(*f.find("z.weight"), std::span(w2));
    f.read(*f.find("m.double"), std::span(d2));
    f.read(*f.find("a.scalar"), std::span(one2));
    for (std::size_t i = 0; i < w.size(); ++i)
        BOOST_CHECK_EQUAL(std::bit_cast<std::uint32_t>(w2[i]), std::bit_cast<std::uint32_t>(w[i]));
    for (std::size_t i = 0; i < d.size(); ++i)
        BOOST_CHECK_EQUAL(std::bit_cast<std::uint64_t>(d2[i]), std::bit_cast<std::uint64_t>(d[i]));
    BOOST_CHECK_EQUAL(one2[0], 42.f);
    BOOST_CHECK(f.metadata() == wr.metadata());
    BOOST_CHECK_EQUAL(f.data_crc32(), wr.data_crc32());
    // zlib's CRC-32 of the data section, computed here in one call.
    const auto data = f.data();
    BOOST_CHECK_EQUAL(f.data_crc32(), std::uint32_t(::crc32(0, data.data(), uInt(data.size()))));
}

BOOST_AUTO_TEST_CASE(another_reader_finds_names_shapes_and_offsets_in_the_header) {
    // What safetensors.torch.load_file relies on: the JSON header, parsed here on its own.
    std::vector<float> w(12), b(3);
    std::vector<double> v(5);
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = float(i) / 4;
    io::safetensors_writer wr;
    wr.add("1.dense.weight", {3, 4}, std::span<float>(w));
    wr.add("1.dense.bias", {3}, std::span<float>(b));
    wr.add("0.x", {5}, std::span<double>(v));
    wr.set_metadata("who", "test");
    maso_test::temp_dir dir;
    wr.write(dir / "x.safetensors");
    const bytes file = slurp(dir / "x.safetensors");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | file[std::size_t(i)];
    BOOST_REQUIRE_LE(8 + n, file.size());
    BOOST_CHECK_EQUAL(n % 8, 0u); // the data starts 8-aligned
    const auto j = nlohmann::json::parse(file.begin() + 8, file.begin() + std::ptrdiff_t(8 + n));
    BOOST_CHECK_EQUAL(j["__metadata__"]["who"], "test");
    BOOST_CHECK_EQUAL(j.size(), 4u);
    // F64 before F32 (alignment), then by name: 0.x, 1.dense.bias, 1.dense.weight.
    BOOST_CHECK_EQUAL(j["0.x"]["dtype"], "F64");
    BOOST_CHECK(j["0.x"]["data_offsets"] == nlohmann::json::array({0, 40}));
    BOOST_CHECK_EQUAL(j["1.dense.bias"]["dtype"], "F32");
    BOOST_CHECK(j["1.dense.bias"]["shape"] == nlohmann::json::array({3}));
    BOOST_CHECK(j["1.dense.bias"]["data_offsets"] == nlohmann::json::array({40, 52}));
    BOOST_CHECK(j["1.dense.weight"]["shape"] == nlohmann::json::array({3, 4}));
    BOOST_CHECK(j["1.dense.weight"]["data_offsets"] == nlohmann::json::array({52, 100}));
    BOOST_CHECK_EQUAL(file.size(), 8 + n + 100);
    // The weight's bytes, read here: 2.75 is element 11.
    float last = 0;
    std::memcpy(&last, file.data() + 8 + n + 52 + 44, 4);
    BOOST_CHECK_EQUAL(last, 2.75f);
}

BOOST_AUTO_TEST_CASE(each_malformed_file_is_refused_with_its_problem) {
    const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const bytes eight = le_floats({1.f, 2.f});
    const auto tensor = [](const std::string& body) { return "{\"t\":" + body + "}"; };
    struct bad {
        bytes file;
        std::string problem;
    };
    const std::vector<bad> cases{
        {bytes{1, 0, 0}, "truncated: 3 bytes, shorter than the 8-byte header length"},
        {file_of(ok, eight, 100'000'001),
         "malformed: the header length 100000001 is more than the 100000000 bytes safetensors "
         "allows"},
        {file_of(ok, eight, ~0ull >> 1),
         "malformed: the header length 9223372036854775807 is more than the 100000000 bytes "
         "safetensors allows"},
        {file_of(ok, {}, ok.size() + 20), "truncated: the header length is " +
                                              std::to_string(ok.size() + 20) + " bytes but only " +
                                              std::to_string(ok.size()) + " bytes follow it"},
        {file_of(R"({"t":{"dtype":"F32")", {}), "malformed header: not valid JSON (parse error"},
        {file_of("", {}), "malformed header: not valid JSON (parse error"},
        {file_of(ok + "x", eight), "malformed header: not valid JSON (parse error"},
        {file_of("{\"\xff\":1}", {}), "malformed header: not valid JSON (parse error"},
        {file_of("[1, 2]", {}), "malformed header: not a JSON object"},
        {file_of(R"({"__metadata__":{"a":1}})"),
         "malformed header: __metadata__ is not an object of strings"},
        {file_of(R"({"__metadata__":"a"})"),
         "malformed header: __metadata__ is not an object of strings"},
        {file_of(tensor("3"), {}),
         "malformed header: tensor \"t\" is not an object with a dtype, a shape of whole numbers "
         "and two whole data_offsets"},
        {file_of(tensor(R"({"dtype":"F32","shape":[2]})"), eight),
         "malformed header: tensor \"t\" is not"},
        {file_of(tensor(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), eight),
         "malformed header: tensor \"t\" is not"},
        {file_of(tensor(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"), eight),
         "malformed header: tensor \"t\" is not"},
        {file_of(tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,9]})"), eight),
         "malformed header: tensor \"t\" is not"},
        {file_of(tensor(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})"), eight),
         "malformed header: tensor \"t\" is not"},
        {file_of(tensor(R"({"dtype":"F31","shape":[2],"data_offsets":[0,8]})"), eight),
         "malformed header: tensor \"t\" has an unknown dtype \"F31\""},
        {file_of(tensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), eight),
         "malformed header: tensor \"t\" has shape [3] of F32 (12 bytes), but data_offsets [0, 8]"},
        {file_of(tensor(R"({"dtype":"F64","shape":[2],"data_offsets":[8,0]})"), eight),
         "malformed header: tensor \"t\" has shape [2] of F64 (16 bytes), but data_offsets [8, 0]"},
        {file_of(tensor(R"({"dtype":"U64","shape":[4294967296,4294967296],)"
                        R"("data_offsets":[0,8]})"),
                 eight),
         "malformed header: tensor \"t\" has shape [4294967296, 4294967296] of U64 (more bytes "
         "than a file holds), but data_offsets [0, 8]"},
        {file_of(ok, le_floats({1.f})), "truncated: the tensors need 8 bytes of data, the file "
                                        "holds 4"},
        {file_of(ok, le_floats({1.f, 2.f, 3.f})),
         "malformed: bytes [8, 12) of the data belong to no tensor"},
        {file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
         "malformed: bytes [0, 4) of the data belong to no tensor"},
        {file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 eight),
         "malformed: tensors \"a\" and \"b\" overlap in the data"},
        {file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                 le_floats({1.f, 2.f, 3.f})),
         "malformed: bytes [4, 8) of the data belong to no tensor"},
    };
    for (const auto& c : cases) {
        const std::string p = problem_of(c.file);
        BOOST_CHECK_MESSAGE(p.rfind(c.problem, 0) == 0,
                            "expected \"" << c.problem << "\", got \"" << p << "\"");
    }
    // Reading the same bytes with the right length works: the cases above are the only fault.
    maso_test::temp_dir dir;
    maso_test::write_plain(dir / "ok", file_of(ok, eight));
    BOOST_CHECK_EQUAL(io::read_safetensors(dir / "ok").tensors().size(), 1u);
    BOOST_CHECK_EQUAL(message_of<file_error>([&] { io::read_safetensors(dir / "none"); }),
                      "maso: " + (dir / "none").string() + ": no such file");
    BOOST_CHECK_EQUAL(message_of<file_error>([&] { io::read_safetensors(dir.path()); }),
                      "maso: " + dir.path().string() + ": not a regular file");
}

BOOST_AUTO_TEST_CASE(the_writer_refuses_what_the_format_cannot_hold) {
    io::safetensors_writer w;
    std::vector<float> v(6);
    w.add("a", {2, 3}, std::span<float>(v));
    BOOST_CHECK_EQUAL(message_of<value_error>([&] { w.add("a", {6}, std::span<float>(v)); }),
                      "maso: safetensors: the tensor name \"a\" is used twice");
    BOOST_CHECK_EQUAL(
        message_of<value_error>([&] { w.add("__metadata__", {6}, std::span<float>(v)); }),
        "maso: safetensors: \"__metadata__\" cannot name a tensor");
    BOOST_CHECK_EQUAL(message_of<size_error>([&] {
                          w.add("b", {4, 2}, std::span<float>(v));
                      }),
                      "maso: safetensors: tensor \"b\" has shape [4, 2] of 8 values, but 6 "
                      "were given");
    BOOST_CHECK_EQUAL(message_of<value_error>([&] { w.add("bad\xff", {6}, std::span<float>(v)); }),
                      "maso: safetensors: the tensor name \"bad\xff\" is not valid UTF-8");
    BOOST_CHECK_EQUAL(message_of<value_error>([&] { w.set_metadata("k\xc3", "v"); }),
                      "maso: safetensors: the metadata key \"k\xc3\" is not valid UTF-8");
    BOOST_CHECK_EQUAL(message_of<value_error>([&] { w.set_metadata("k", "\xe2\x82"); }),
                      "maso: safetensors: the metadata value \"\xe2\x82\" is not valid UTF-8");
    BOOST_CHECK_EQUAL(w.layout().size(), 1u); // the refused ones were not added
    BOOST_CHECK(w.metadata().empty());
}

BOOST_AUTO_TEST_CASE(writing_replaces_the_file_whole_or_not_at_all) {
    maso_test::temp_dir dir;
    const auto target = dir / "m.safetensors";
    std::vector<float> small(4, 1.f), large(1 << 20, 2.f);
    io::safetensors_writer first;
    first.add("w", {4}, std::span<float>(small));
    first.write(target);
    const bytes old = slurp(target);
    std::filesystem::permissions(target, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::owner_write);
    // Replaced: the new content, the old file's permissions, no temporary file left.
    io::safetensors_writer second;
    second.add("w", {4}, std::span<float>(small));
    second.set_metadata("v", "2");
    second.write(target);
    BOOST_CHECK(slurp(target) == second.bytes());
    BOOST_CHECK(std::filesystem::status(target).permissions() ==
                (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    BOOST_CHECK(listing(dir.path()) == std::vector<std::string>{"m.safetensors"});
    first.write(target);
    BOOST_REQUIRE(slurp(target) == old);

    // A write that fails half-way (the file-size limit stops it after 64 KiB): the old file
    // is intact and the temporary file is gone.
    io::safetensors_writer big;
    big.add("w", {std::uint64_t(large.size())}, std::span<float>(large));
    {
        const auto previous = std::signal(SIGXFSZ, SIG_IGN); // EFBIG instead of a signal
        rlimit saved{};
        BOOST_REQUIRE_EQUAL(getrlimit(RLIMIT_FSIZE, &saved), 0);
        rlimit limited = saved;
        limited.rlim_cur = 1 << 16;
        BOOST_REQUIRE_EQUAL(setrlimit(RLIMIT_FSIZE, &limited), 0);
        const std::string m = message_of<file_error>([&] { big.write(target); });
        setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, previous);
        BOOST_CHECK_EQUAL(m, "maso: " + target.string() + ": cannot write: File too large");
    }
    BOOST_CHECK(slurp(target) == old);
    BOOST_CHECK(listing(dir.path()) == std::vector<std::string>{"m.safetensors"});

    // A directory where the file should go: the rename fails, the directory stays.
    std::filesystem::create_directory(dir / "taken");
    std::filesystem::create_directory(dir / "taken" / "inside");
    BOOST_CHECK_EQUAL(message_of<file_error>([&] { first.write(dir / "taken"); })
                          .rfind("maso: " + (dir / "taken").string() +
                                     ": cannot rename the temporary file over it: ",
                                 0),
                      0u);
    BOOST_CHECK(std::filesystem::is_directory(dir / "taken" / "inside"));
    // A directory that does not exist: no temporary file can be made.
    BOOST_CHECK_EQUAL(
        message_of<file_error>([&] { first.write(dir / "missing" / "m.safetensors"); }),
        "maso: " + (dir / "missing" / "m.safetensors").string() +
            ": cannot create a temporary file beside it: No such file or directory");
    BOOST_CHECK(listing(dir.path()) == (std::vector<std::string>{"m.safetensors", "taken"}));
    BOOST_CHECK(slurp(target) == old);
}
