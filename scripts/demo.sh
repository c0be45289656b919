#!/usr/bin/env bash
# scripts/demo.sh — the demo: trains the paper authors' smallCNN, with a swish whose β each
# channel learns, on Fashion-MNIST (dsl_examples/fashion_mnist.cpp, docs/training.md), then
# prints its fused ÷ unfused training speed measured in the same process. Built for this
# machine's ISA; installs the Debian packages it needs if they are missing, Fashion-MNIST
# (dataset-fashion-mnist) included.
#
#   scripts/demo.sh [fashion_mnist arguments, e.g. --epochs 8 --csv run.csv]
#
# Works from any directory; builds in <repo>/build-demo (ignored by git). The β-family table
# the demo printed before is dsl_examples/beta_family.cpp, which ctest runs.
set -euo pipefail
# Milliseconds since the epoch, from bash's clock (no bc, no date subprocesses).
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
seconds() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
start=$(now_ms)

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# Configuring with the examples on needs every package below, even if the demo's program uses
# neither CLI11 (the command-line trainer's parser) nor, directly, nlohmann-json.
packages=(cmake g++ libboost-dev libxsimd-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
    dataset-fashion-mnist)
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

# Tests and benchmarks off: the demo needs neither Boost.Test nor Google Benchmark.
built_from=$(now_ms)
cmake -S "$repo" -B "$repo/build-demo" -DCMAKE_BUILD_TYPE=Release -DMASO_NATIVE=ON \
    -DMASO_BUILD_TESTS=OFF -DMASO_BUILD_BENCHMARKS=OFF -DMASO_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$repo/build-demo" --target fashion_mnist -j2
built=$(now_ms)
echo "demo.sh: configured and built in $(seconds $((built - built_from))) s; $(nproc) cores"

"$repo/build-demo/dsl_examples/fashion_mnist" "$@"
end=$(now_ms)
echo "demo.sh: $(seconds $((end - start))) s in all: $(seconds $((built - start))) s to install" \
    "and build, $(seconds $((end - built))) s to load the data, train, test and compare"
