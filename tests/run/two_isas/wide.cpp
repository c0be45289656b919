// The network on AVX-512 (this file is built with -mavx512f and its companions).
#define MASO_TWO_ISAS_NETWORK
#include "network.hpp"

static_assert(std::is_base_of_v<xsimd::avx512f, xsimd::default_arch>);

two_isas::result two_isas::run_wide() { return run_on<xsimd::default_arch>(); }
