// The network on AVX2 (this file is built with -mavx2 -mfma).
#define MASO_TWO_ISAS_NETWORK
#include "network.hpp"

static_assert(std::is_same_v<xsimd::default_arch, xsimd::fma3<xsimd::avx2>>);

two_isas::result two_isas::run_narrow() { return run_on<xsimd::default_arch>(); }
