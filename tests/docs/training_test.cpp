// Tests of docs/training.md against the code: every ```cpp block of the page is, line for line
// (leading spaces aside), a run of lines of one of the programs in dsl_examples/, which ctest
// builds and runs. A block edited on the page alone, or code changed under a block, fails here.
#define BOOST_TEST_MODULE docs.training
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string trimmed(const std::string& line) {
    const auto first = line.find_first_not_of(' ');
    const auto last = line.find_last_not_of(' ');
    return first == std::string::npos ? "" : line.substr(first, last - first + 1);
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(trimmed(line));
    return lines;
}

/// The ```cpp blocks of a Markdown file, each as its trimmed lines.
std::vector<std::vector<std::string>> cpp_blocks(const std::filesystem::path& page) {
    std::vector<std::vector<std::string>> blocks;
    bool in = false;
    for (const std::string& line : lines_of(page)) {
        if (!in && line == "```cpp") {
            in = true;
            blocks.emplace_back();
        } else if (in && line == "```") {
            in = false;
        } else if (in) {
            blocks.back().push_back(line);
        }
    }
    return blocks;
}

bool contains(const std::vector<std::string>& file, const std::vector<std::string>& block) {
    if (block.empty() || block.size() > file.size()) return false;
    for (std::size_t at = 0; at + block.size() <= file.size(); ++at) {
        std::size_t k = 0;
        while (k < block.size() && file[at + k] == block[k])
            ++k;
        if (k == block.size()) return true;
    }
    return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_cpp_block_is_in_a_built_example) {
    const std::filesystem::path root = MASO_SOURCE_DIR;
    std::vector<std::pair<std::string, std::vector<std::string>>> programs;
    for (const auto& entry : std::filesystem::directory_iterator(root / "dsl_examples"))
        if (entry.path().extension() == ".cpp" || entry.path().extension() == ".hpp")
            programs.emplace_back(entry.path().filename().string(), lines_of(entry.path()));
    const auto blocks = cpp_blocks(root / "docs" / "training.md");
    BOOST_TEST(blocks.size() >= 6u);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        std::string where;
        for (const auto& [name, lines] : programs)
            if (contains(lines, blocks[b])) where = name;
        BOOST_TEST(!where.empty(), "block " << b + 1 << " of docs/training.md, starting \""
                                            << blocks[b].front() << "\", is in no program of "
                                            << "dsl_examples/");
    }
}
