#!/usr/bin/env bash
# scripts/demo.sh — build and run the β-family demo (dsl_examples/beta_family.cpp)
# for this machine's ISA, installing the Debian packages maso needs if they are missing.
#
#   scripts/demo.sh [beta_family arguments, e.g. --quick]
#
# Works from any directory; builds in <repo>/build-demo (ignored by git).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

packages=(libboost-dev libboost-test-dev libxsimd-dev libbenchmark-dev cmake g++)
missing=()
for p in "${packages[@]}"; do
    # Status must say installed: a removed package keeps a dpkg record (config-files).
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "demo.sh: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "demo.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Tests and benchmarks off: the demo needs neither Boost.Test nor Google Benchmark
# to build, and configuring them would only slow the first run down.
cmake -S "$repo" -B "$repo/build-demo" -DCMAKE_BUILD_TYPE=Release -DMASO_NATIVE=ON \
    -DMASO_BUILD_TESTS=OFF -DMASO_BUILD_BENCHMARKS=OFF -DMASO_BUILD_EXAMPLES=ON
cmake --build "$repo/build-demo" --target beta_family -j2
"$repo/build-demo/dsl_examples/beta_family" "$@"
