#!/usr/bin/env bash
# scripts/experiment.sh — the paper's experiment, rerun (issue 15): builds
# dsl_examples/experiment.cpp for this machine's ISA and runs its grid — {ReLU, SiLU, swish with
# β learned per channel} × {no constraint, the penalty, Gram–Schmidt, CholeskyQR2} × 3 seeds of
# the authors' smallCNN on Fashion-MNIST, sized to take under an hour on 2 cores — then writes
# docs/results.md and docs/img/experiment-curves.png. Installs the Debian packages it needs if
# they are missing (Fashion-MNIST and gnuplot included).
#
#   scripts/experiment.sh                      the grid; run it again to resume an interrupted one
#   scripts/experiment.sh --summarise-only     the page again from the runs kept
#   scripts/experiment.sh --net large --data DIR
#                                              largeCNN on CIFAR-10 / CIFAR-100 files in DIR, the
#                                              paper's protocol (120 epochs, three learning rates,
#                                              5 seeds); its page goes to docs/results/large-<DIR>/
#
# Arguments go to the program (experiment --help lists them). Each finished run is kept in
# docs/results/<net>-<data directory's name>/ (Fashion-MNIST's: docs/results/small-fashion-mnist/); the
# page is written from those records. Only the default grid, on Debian's Fashion-MNIST, writes
# docs/results.md. Works from any directory; builds in <repo>/build-experiment (ignored by git)
# with MASO_JOBS (default 2) jobs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
jobs=${MASO_JOBS:-2}

packages=(cmake g++ libboost-dev libxsimd-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
    dataset-fashion-mnist gnuplot-nox)
missing=()
for p in "${packages[@]}"; do
    # Status must say installed: a removed package keeps a dpkg record (config-files).
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "experiment.sh: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "experiment.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The default grid's page is docs/results.md; a grid on other data or another network keeps its
# page beside its runs (the program's default), so that it cannot overwrite the published one.
page=()
default_grid=1
for a in "$@"; do
    case "$a" in
    --net | --net=* | --data | --data=* | --out | --out=* | --summary | --summary=* | --image | --image=*)
        default_grid=0 ;;
    esac
done
if ((default_grid)); then
    page=(--summary docs/results.md --image docs/img/experiment-curves.png)
fi

cmake -S "$repo" -B "$repo/build-experiment" -DCMAKE_BUILD_TYPE=Release -DMASO_NATIVE=ON \
    -DMASO_BUILD_TESTS=OFF -DMASO_BUILD_BENCHMARKS=OFF -DMASO_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$repo/build-experiment" --target experiment -j"$jobs"

echo "experiment.sh: $(nproc) cores; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$SECONDS
status=0
"$repo/build-experiment/dsl_examples/experiment" "${page[@]}" \
    --command "scripts/experiment.sh${*:+ $*}" "$@" || status=$?
echo "experiment.sh: $((SECONDS - start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
