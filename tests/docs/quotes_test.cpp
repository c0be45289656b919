// Tests that README.md and docs/*.md cannot drift from the code: every page is read and
//
//  (a) every ```cpp block is, line for line (leading and trailing spaces aside), a run of
//      consecutive lines of a file that ctest builds: a file of dsl_examples/, include/ or
//      tests/. A block edited on the page alone, or code changed under a block, fails here.
//  (b) every block that shows a printed plan (it holds "plan (fuse::") has on the line before
//      its fence a marker naming the example program that prints it, with its arguments:
//
//          <!-- output: small_cnn --batch 2 -->
//
//      The program (built in dsl_examples/) is run, and the block's lines must appear in what
//      it prints as contiguous runs, in order; a line holding only "…" separates two runs (the
//      page cuts kernels out). Any block with such a marker is checked the same way.
//
// A failure names the page, the line and what is wrong, with the nearest match it found.
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path root = MASO_SOURCE_DIR;

std::string trimmed(const std::string& line) {
    const auto first = line.find_first_not_of(" \t\r");
    const auto last = line.find_last_not_of(" \t\r");
    return first == std::string::npos ? "" : line.substr(first, last - first + 1);
}

/// Without trailing spaces: printed plans keep their indentation.
std::string right_trimmed(const std::string& line) {
    const auto last = line.find_last_not_of(" \t\r");
    return last == std::string::npos ? "" : line.substr(0, last + 1);
}

std::vector<std::string> lines_of_text(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

std::vector<std::string> lines_of(const fs::path& p) {
    std::ifstream in(p);
    BOOST_REQUIRE_MESSAGE(in, "cannot read " << p);
    std::ostringstream s;
    s << in.rdbuf();
    return lines_of_text(s.str());
}

/// A fenced block of a page: where its fence is, its language, the marker on the line
/// before the fence ("" if none), and its lines as written.
struct block {
    std::string page;
    std::size_t line = 0; // of the opening fence, from 1
    std::string language, marker;
    std::vector<std::string> lines;

    std::string where(std::size_t k) const { return page + ":" + std::to_string(line + 1 + k); }
};

std::vector<block> blocks_of(const fs::path& page) {
    const auto lines = lines_of(page);
    const std::string name = fs::relative(page, root).generic_string();
    std::vector<block> out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string fence = trimmed(lines[i]);
        if (fence.rfind("```", 0) != 0) continue;
        block b{name, i + 1, fence.substr(3), "", {}};
        if (i > 0 && trimmed(lines[i - 1]).rfind("<!--", 0) == 0) b.marker = trimmed(lines[i - 1]);
        std::size_t j = i + 1;
        for (; j < lines.size() && trimmed(lines[j]) != "```"; ++j)
            b.lines.push_back(lines[j]);
        BOOST_REQUIRE_MESSAGE(j < lines.size(), name << ":" << i + 1 << ": a fence never closed");
        out.push_back(std::move(b));
        i = j;
    }
    return out;
}

std::vector<fs::path> pages() {
    std::vector<fs::path> p{root / "README.md"};
    for (const auto& e : fs::directory_iterator(root / "docs"))
        if (e.path().extension() == ".md") p.push_back(e.path());
    return p;
}

/// Every file ctest builds from, each as its trimmed lines, by path from the root.
const std::map<std::string, std::vector<std::string>>& sources() {
    static const auto files = [] {
        std::map<std::string, std::vector<std::string>> out;
        for (const char* dir : {"dsl_examples", "include", "tests"})
            for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
                const auto ext = e.path().extension();
                if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp" && ext != ".h"))
                    continue;
                auto& lines = out[fs::relative(e.path(), root).generic_string()];
                for (const std::string& l : lines_of(e.path()))
                    lines.push_back(trimmed(l));
            }
        return out;
    }();
    return files;
}

/// The longest run of `want` found in `have` at or after `from`, starting at want's first
/// line: where it starts, and how many lines match.
struct match {
    std::size_t at = 0, length = 0;
};

match longest(const std::vector<std::string>& have, const std::vector<std::string>& want,
              std::size_t from = 0) {
    match best;
    for (std::size_t at = from; at < have.size(); ++at) {
        std::size_t k = 0;
        while (k < want.size() && at + k < have.size() && have[at + k] == want[k])
            ++k;
        if (k > best.length) best = {at, k};
        if (k == want.size()) break;
    }
    return best;
}

/// What an example program prints on its standard output, run once per command line.
const std::vector<std::string>& output_of(const std::string& command) {
    static std::map<std::string, std::vector<std::string>> cache;
    if (auto it = cache.find(command); it != cache.end()) return it->second;
#ifdef MASO_EXAMPLES_DIR
    // Appended, not `std::string(...) + "/" + command`: g++ 12 -O1 reports a false
    // -Warray-bounds on that temporary once the directory is longer than 31 characters.
    std::string run = MASO_EXAMPLES_DIR;
    run.append("/").append(command);
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(run.c_str(), "r"), pclose);
    BOOST_REQUIRE_MESSAGE(pipe, "cannot run " << run);
    std::string text;
    std::array<char, 4096> buffer;
    for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0;)
        text.append(buffer.data(), n);
    const int status = pclose(pipe.release());
    BOOST_CHECK_MESSAGE(status == 0, "`" << run << "` exited with status " << status);
    auto& lines = cache[command];
    for (const std::string& l : lines_of_text(text))
        lines.push_back(right_trimmed(l));
    return lines;
#else
    return cache[command];
#endif
}

} // namespace

BOOST_AUTO_TEST_CASE(every_cpp_block_is_compiled_code) {
    std::size_t checked = 0;
    for (const fs::path& page : pages())
        for (const block& b : blocks_of(page)) {
            if (b.language != "cpp") continue;
            ++checked;
            std::vector<std::string> want;
            for (const std::string& l : b.lines)
                want.push_back(trimmed(l));
            if (want.empty()) {
                BOOST_ERROR(b.page << ":" << b.line << ": an empty ```cpp block");
                continue;
            }
            std::string best_file;
            match best;
            for (const auto& [file, lines] : sources()) {
                const match m = longest(lines, want);
                if (m.length > best.length) best_file = file, best = m;
                if (m.length == want.size()) break;
            }
            if (best.length == want.size()) continue;
            std::ostringstream why;
            why << b.where(0) << ": this ```cpp block is not a run of consecutive lines of any file"
                << " of dsl_examples/, include/ or tests/ (quote compiled code: copy the file's"
                << " lines, or put the code in a file that ctest builds)";
            if (best.length == 0)
                why << "; no file holds its first line \"" << want.front() << "\"";
            else
                why << "; nearest: " << best_file << ":" << best.at + 1 << " matches its first "
                    << best.length << " line(s), then " << b.where(best.length) << " has \""
                    << want[best.length] << "\" where the file has \""
                    << (best.at + best.length < sources().at(best_file).size()
                            ? sources().at(best_file)[best.at + best.length]
                            : std::string("(the end of the file)"))
                    << "\"";
            BOOST_ERROR(why.str());
        }
    BOOST_TEST(checked >= 40u, "only " << checked << " ```cpp blocks found: are the pages there?");
}

BOOST_AUTO_TEST_CASE(every_printed_plan_is_what_its_program_prints) {
    std::size_t checked = 0;
    for (const fs::path& page : pages())
        for (const block& b : blocks_of(page)) {
            bool plan = false;
            for (const std::string& l : b.lines)
                plan = plan || l.find("plan (fuse::") != std::string::npos;
            const std::string open = "<!-- output: ", close = " -->";
            const bool marked =
                b.marker.rfind(open, 0) == 0 && b.marker.size() > open.size() + close.size() &&
                b.marker.compare(b.marker.size() - close.size(), close.size(), close) == 0;
            if (!marked) {
                BOOST_CHECK_MESSAGE(!plan, b.page << ":" << b.line << ": this block shows a plan"
                                                  << " but the line before its fence is not a"
                                                  << " marker <!-- output: PROGRAM ARGS --> naming"
                                                  << " the dsl_examples/ program that prints it");
                BOOST_CHECK_MESSAGE(b.marker.find("output:") == std::string::npos,
                                    b.page << ":" << b.line - 1 << ": malformed marker \""
                                           << b.marker << "\"");
                continue;
            }
            const std::string command =
                b.marker.substr(open.size(), b.marker.size() - open.size() - close.size());
#ifndef MASO_EXAMPLES_DIR
            BOOST_TEST_MESSAGE(b.page << ":" << b.line << ": `" << command
                                      << "` not run: the examples are not built");
            continue;
#endif
            ++checked;
            const std::vector<std::string>& out = output_of(command);
            // The runs between lines holding only "…", each contiguous, in order.
            std::size_t from = 0, first = 0;
            for (std::size_t k = 0; k <= b.lines.size(); ++k) {
                if (k < b.lines.size() && trimmed(b.lines[k]) != "…") continue;
                std::vector<std::string> run;
                for (std::size_t r = first; r < k; ++r)
                    run.push_back(right_trimmed(b.lines[r]));
                if (!run.empty()) {
                    const match m = longest(out, run, from);
                    if (m.length < run.size()) {
                        std::ostringstream why;
                        why << b.where(first) << ": the run of " << run.size() << " line(s) from"
                            << " here is not in what `" << command << "` prints"
                            << (from > 0 ? " after the previous run" : "");
                        if (m.length == 0)
                            why << "; no line of the output is \"" << run.front() << "\"";
                        else
                            why << "; its first " << m.length << " line(s) match output line "
                                << m.at + 1 << " on, then " << b.where(first + m.length)
                                << " has \"" << run[m.length] << "\" where the program prints \""
                                << (m.at + m.length < out.size() ? out[m.at + m.length]
                                                                 : std::string("(nothing)"))
                                << "\"";
                        BOOST_ERROR(why.str());
                        break;
                    }
                    from = m.at + m.length;
                }
                first = k + 1;
            }
        }
#ifdef MASO_EXAMPLES_DIR
    BOOST_TEST(checked >= 2u, "only " << checked << " blocks with an output marker found");
#endif
}
