// tests/support/precompiled.hpp — what nearly every test includes, parsed once per ISA and
// build into a precompiled header (tests/CMakeLists.txt: maso_test_pch) instead of once per
// test file: the whole library and Boost.Test are about two thirds of a small test's compile.
#pragma once

#include <maso/maso.hpp>

#include <boost/test/unit_test.hpp>
