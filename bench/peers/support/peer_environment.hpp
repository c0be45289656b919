// bench/peers/support/peer_environment.hpp — the peers' thread counts and settings, in one place.
//
// Three runtimes share the process with maso's own pool: libtorch's OpenMP (libgomp), oneDNN's
// (the same libgomp in Debian's build) and OpenBLAS's own pthreads, which libtorch's dense
// layers call. at::set_num_threads sets the OpenMP count only, so a 1-thread case would still
// run OpenBLAS on every core: use_peer_threads sets all three (OpenBLAS through dlsym, since
// libtorch reaches it through libblas.so.3, whichever BLAS Debian's alternatives picked).
//
// add_peer_context puts what decides the peers' speed into the benchmark's context, so that
// every JSON output says how the peers ran: the environment variables PERFORMANCE.md names
// (OPENBLAS_CORETYPE, OMP_WAIT_POLICY, thread binding, GLIBC_TUNABLES — glibc reads its
// malloc tunables at start-up, so a run is tuned or not as a whole), the BLAS libtorch got and
// the core type OpenBLAS chose, libtorch's default thread count, oneDNN's version and ISA.
#pragma once

#include <benchmark/benchmark.h>

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace maso_peers {

/// A function of the BLAS behind libtorch, if it is OpenBLAS; null otherwise.
template <class F>
F* openblas_function(const char* name) {
    return reinterpret_cast<F*>(dlsym(RTLD_DEFAULT, name));
}

/// "OpenBLAS 0.3.21 … SkylakeX", or what stands in its place.
inline std::string blas_description() {
    auto* config = openblas_function<char*()>("openblas_get_config");
    auto* core = openblas_function<char*()>("openblas_get_corename");
    if (!config) return "not OpenBLAS (Debian's reference BLAS: libtorch's dense layers are slow)";
    return std::string(config()) + ", core " + (core ? core() : "?");
}

/// Sets OpenBLAS's thread count when it is the BLAS in use.
inline void set_blas_threads(int n) {
    if (auto* set = openblas_function<void(int)>("openblas_set_num_threads")) set(n);
}

/// OpenBLAS's thread count as it reports it; n itself when the BLAS is not OpenBLAS.
inline int blas_threads(int n) {
    auto* get = openblas_function<int()>("openblas_get_num_threads");
    return get ? get() : n;
}

/// The value of an environment variable, or "(unset)".
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "(unset)";
}

/// The environment variables that decide how the peers run, as one context line each.
inline void add_environment_context() {
    for (const char* name :
         {"GLIBC_TUNABLES", "OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES", "OMP_NUM_THREADS",
          "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENBLAS_L2_SIZE", "MASO_NUM_THREADS"})
        benchmark::AddCustomContext(std::string("env ") + name, env(name));
    benchmark::AddCustomContext("peer_blas", blas_description());
}

} // namespace maso_peers
