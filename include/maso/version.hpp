// maso/version.hpp — the library version, kept in step with CMakeLists.txt.
#pragma once

#define MASO_VERSION_MAJOR 0
#define MASO_VERSION_MINOR 1
#define MASO_VERSION_PATCH 0

namespace maso {
inline constexpr int version_major = MASO_VERSION_MAJOR;
inline constexpr int version_minor = MASO_VERSION_MINOR;
inline constexpr int version_patch = MASO_VERSION_PATCH;
} // namespace maso
