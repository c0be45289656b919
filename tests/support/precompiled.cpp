// The translation unit that builds support/precompiled.hpp (tests/CMakeLists.txt).
