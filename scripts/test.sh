#!/usr/bin/env bash
# maso's test command (README): installs what is missing, then builds and runs
# every test three ways — g++ (Release with assertions), g++ with
# AddressSanitizer + UndefinedBehaviorSanitizer, and clang++ — each with
# -Wall -Wextra -Werror. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
jobs=${MASO_JOBS:-2}

# ---- packages ------------------------------------------------------------------------
# zlib1g-dev: maso::io reads gzip; nlohmann-json3-dev: maso::io's safetensors headers;
# dataset-fashion-mnist: tests/io/idx_test.cpp reads the real set, and ctest runs the demo
# (dsl_examples/fashion_mnist.cpp) on part of it; libcli11-dev: the command-line trainer
# (dsl_examples/train.cpp) parses its options with CLI11, a maintained parser, rather than
# one of our own; libtorch-dev: the oracle tests (tests/oracle/) compare maso with libtorch;
# gnuplot-nox and libstb-dev: ctest runs dsl_examples/see_inside.cpp (docs/inspect.md's
# pictures), which plots with gnuplot and writes raw images with stb_image_write.
packages=(cmake ninja-build g++ clang libboost-dev libboost-test-dev libxsimd-dev libbenchmark-dev zlib1g-dev
  nlohmann-json3-dev dataset-fashion-mnist libcli11-dev libtorch-dev gnuplot-nox libstb-dev)
missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- builds ----------------------------------------------------------------------------
status=0
summary=()
run_suite() { # name, build dir, cmake args...
  local name=$1 dir=$2
  shift 2
  echo
  echo "== $name: configure"
  cmake -S "$root" -B "$dir" -G Ninja -DMASO_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; summary+=("$name: configure FAILED"); status=1; return; }
  echo "== $name: build (-j$jobs)"
  local start=$SECONDS
  if ! cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1; then
    grep -E "error|warning" "$dir.build.log" | head -50 || tail -50 "$dir.build.log"
    summary+=("$name: build FAILED (log: $dir.build.log)")
    status=1
    return
  fi
  echo "== $name: ctest (built in $((SECONDS - start)) s)"
  start=$SECONDS
  local out
  if out=$(cd "$dir" && ctest -j"$jobs" --output-on-failure 2>&1); then
    summary+=("$name: $(grep -E 'tests passed' <<<"$out")")
  else
    summary+=("$name: $(grep -E 'tests passed' <<<"$out" || echo 'ctest FAILED')")
    status=1
  fi
  echo "$out" | tail -n 25
  echo "== $name: tests ran in $((SECONDS - start)) s"
}

mkdir -p build-test
# The widest ISA this CPU runs: the one stage that builds every ISA (g++) runs the others, and
# the sanitizer and clang++ stages build their SIMD tests for this one alone.
widest=sse2
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && widest=avx2
grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo &&
  widest=avx512
# -O1 without -g: the tests need optimised code, not debug info, and -O1 compiles the
# template-heavy tests in about 0.6× the time of -O2. The tests of one ISA share a
# precompiled header of the library and Boost.Test (tests/CMakeLists.txt: maso_test_pch). Every public header is compiled on its
# own once (g++); the benchmarks are built (not run) by g++ and clang++, but not those
# against the peers (bench/peers/: scripts/peers.sh builds and runs them). The oracle tests
# against libtorch (tests/oracle/) are built by g++ only: libtorch is not built with the
# sanitizers, and one configuration says whether maso computes what it does.
optimised=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG")
no_peers=(-DMASO_PEER_BENCHMARKS=OFF)
run_suite "g++" build-test/gcc -DCMAKE_CXX_COMPILER=g++ "${optimised[@]}" "${no_peers[@]}"
# The sanitizers see the SIMD tests on AVX-512 (masked loads and stores, panels read
# in place); g++ and clang++ build all three ISAs. UBSan leaves out its null,
# alignment and object-size checks, which AddressSanitizer's shadow memory and the
# CPU cover (a null or out-of-object access is an ASan report, a misaligned aligned
# SIMD load a fault): on every member access of the template-heavy tests they made
# the stage's compile 1.6× slower (node_kinds_test: 195 s → 119 s). Unoptimised
# (-O0), the instrumented tests compile 3.4× faster than at -O1 and run 3× slower
# (plan/lower_groups_test: 226 s → 67 s to build, 2.8 s → 8.4 s to run): the stage
# took 15.6 of the run's 31 minutes at -O1.
# An impossible allocation (a batch too large to fit memory, which maso refuses with a
# value_error) makes ASan's allocator abort unless it may return null, as the real one does.
export ASAN_OPTIONS=allocator_may_return_null=1
run_suite "g++ ASan+UBSan" build-test/sanitize -DCMAKE_CXX_COMPILER=g++ \
  "-DMASO_ISAS=$widest" -DMASO_ORACLE_TESTS=OFF -DMASO_KERNEL_TRACE_TEST=OFF \
  -DMASO_EXPERIMENT_CLI_TEST=OFF \
  -DMASO_BUILD_BENCHMARKS=OFF -DMASO_CHECK_HEADERS=OFF -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -g1" \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize=null,alignment,object-size -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# clang++ compiles and runs every test but the instrumented kernel trace, whose check (the
# kernels that run are those describe() prints, per ISA) does not depend on the compiler. Its
# SIMD tests are built for the widest ISA only, as the sanitizers': which code path each ISA
# takes is the same under both compilers and g++ runs all three, while what clang++ adds is
# its own reading of the templates and its optimiser, which one ISA exercises (the three made
# two thirds of the stage's compile).
run_suite "clang++" build-test/clang -DCMAKE_CXX_COMPILER=clang++ -DMASO_CHECK_HEADERS=OFF \
  "-DMASO_ISAS=$widest" -DMASO_ORACLE_TESTS=OFF -DMASO_KERNEL_TRACE_TEST=OFF "${no_peers[@]}" \
  "${optimised[@]}"

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
