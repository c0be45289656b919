// maso/core/value_type.hpp — the element types maso computes in.
//
// Kernels run in float; every operation is also instantiable in double so that
// finite-difference gradient checks have the precision they need. A kernel
// instantiated with another type stops with E002 (docs/errors.md).
#pragma once

#include <type_traits>

namespace maso {

template <class T>
inline constexpr bool is_value_type_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

} // namespace maso
