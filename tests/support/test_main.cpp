// The one main() and master suite of every test executable, compiled once per build: the
// test files only register cases, so their includes can come from one precompiled header
// (tests/CMakeLists.txt), which a per-file BOOST_TEST_MODULE would defeat.
#define BOOST_TEST_MODULE maso
#include <boost/test/unit_test.hpp>
