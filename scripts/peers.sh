#!/usr/bin/env bash
# maso against libtorch and oneDNN (bench/peers/): installs what is missing, builds the peer
# benchmarks for this machine's ISA, runs them with the peers tuned and out of the box, runs
# the training race on Fashion-MNIST, and writes docs/benchmarks.md and the README's headline
# table from the results (bench/peers/peer_report.py).
#
#   scripts/peers.sh [--quick] [--no-docs] [--report-only]
#
#   --quick    2 repetitions (5), the race 100 steps per network (one epoch): ≈ 15 minutes
#              instead of ≈ 60 on a 2-core Zen 5
#   --no-docs  leave docs/benchmarks.md and README.md alone (the report goes to the results)
#   --report-only  run nothing: write the report again from the last run's results (after
#              editing bench/peers/notes.md, say); pass the variables that run had
#
# Environment: MASO_JOBS (build jobs, 2), MASO_PEERS_BUILD (the build directory, build-peers),
# MASO_PEERS_MAX_LOAD (start when the 1-minute load
# average is below it, 0.5; PERFORMANCE.md: the machines are shared), MASO_PEERS_WAIT (give up
# waiting after this many seconds and run anyway, noting the load, 1800), MASO_PEERS_FILTER
# (a --benchmark_filter regex for the three binaries, to rerun one workload),
# MASO_PEERS_RACE_STEPS (steps per network in the race instead of one epoch),
# MASO_PEERS_LARGE_RACE_STEPS (largeCNN's steps alone: its epoch is the longest part of the run),
# MASO_PEERS_REPS and MASO_PEERS_DEFAULT_REPS (repetitions with the peers tuned, 5, and out of
# the box, 3).
# Other timing on the machine skews every figure: hold a lock shared with it, e.g.
# `flock /tmp/bench.lock scripts/peers.sh`.
#
# The peers' settings (PERFORMANCE.md's traps), printed by every binary into its results:
#   tuned         GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
#                 (libtorch allocates every step's tensors; glibc's default malloc returns them
#                 to the kernel and pays a page fault per 4 KiB when it takes them back),
#                 OMP_WAIT_POLICY=passive (libgomp's threads otherwise spin on the cores maso's
#                 pool needs, and the other way round), OPENBLAS_CORETYPE=SkylakeX on AVX-512
#                 CPUs (OpenBLAS's detection named Sapphire Rapids "Prescott"), thread counts
#                 set per case on maso's pool, OpenMP and OpenBLAS alike, no binding
#   out of the box  none of these variables (the process starts without them)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
jobs=${MASO_JOBS:-2}
max_load=${MASO_PEERS_MAX_LOAD:-0.5}
max_wait=${MASO_PEERS_WAIT:-1800}
quick=0
docs=1
report_only=0
for a in "$@"; do
  case $a in
  --quick) quick=1 ;;
  --no-docs) docs=0 ;;
  --report-only) report_only=1 ;;
  *)
    echo "usage: $0 [--quick] [--no-docs] [--report-only]" >&2
    exit 2
    ;;
  esac
done

# ---- report ----------------------------------------------------------------------------------
# docs/benchmarks.md and the README's headline from the results in $out.
write_report() {
  # the command as run: the variables that change what is measured, then the script
  local command=""
  for v in MASO_PEERS_FILTER MASO_PEERS_REPS MASO_PEERS_DEFAULT_REPS MASO_PEERS_RACE_STEPS \
    MASO_PEERS_LARGE_RACE_STEPS; do
    if [ -n "${!v:-}" ]; then command+="$v=${!v} "; fi
  done
  command+="scripts/peers.sh"
  if ((quick)); then command+=" --quick"; fi
  local report=(python3 bench/peers/peer_report.py --tuned "$out/tuned" --default "$out/default"
    --race "$out/race.json" --machine "$out/machine.txt" --notes bench/peers/notes.md
    --command "$command")
  if ((docs)); then
    "${report[@]}" --markdown docs/benchmarks.md --readme README.md
    echo "== wrote docs/benchmarks.md and README.md's headline table"
  else
    "${report[@]}" --markdown "$out/benchmarks.md"
    echo "== wrote $out/benchmarks.md"
  fi
}

build=${MASO_PEERS_BUILD:-build-peers}
out=$build/results
if ((report_only)); then
  write_report
  exit 0
fi

# ---- packages ------------------------------------------------------------------------
# libopenblas0-pthread: without it Debian's libtorch links the reference BLAS (libblas3),
# and its dense layers run at a few GFLOP/s — the first trap a Debian user meets.
packages=(cmake g++ python3 libboost-dev libxsimd-dev libbenchmark-dev zlib1g-dev
  dataset-fashion-mnist libtorch-dev libdnnl-dev libopenblas0-pthread)
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

# ---- build -------------------------------------------------------------------------------
targets=(peers_swish_bench peers_conv_bench peers_train_bench peers_race)
echo "== configure $build (Release, -march=native)"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMASO_NATIVE=ON -DMASO_BUILD_TESTS=OFF \
  -DMASO_BUILD_EXAMPLES=OFF -DMASO_PEER_BENCHMARKS=ON >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
echo "== build ${targets[*]} (-j$jobs)"
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1 ||
  { grep -E "error" "$build/build.log" | head -30; exit 1; }
bin=$build/bench/peers

# ---- a quiet machine -----------------------------------------------------------------------
load() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load)" -v m="$max_load" 'BEGIN { exit !(l >= m) }' && ((waited < max_wait)); do
  ((waited % 300 == 0)) && echo "== waiting for the load average ($(load)) to fall below $max_load"
  sleep 30
  waited=$((waited + 30))
done

rm -rf "$out"
mkdir -p "$out/tuned" "$out/default"
{
  echo "$(lscpu | grep -E '^Model name|^CPU family|^Model:|^CPU\(s\)|^Thread|^L1d|^L2|^L3' | sed 's/  */ /g')"
  echo "AVX-512: $(grep -o -w 'avx512f\|avx512bw\|avx512_bf16\|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "Memory: $(free -g | awk '/^Mem/ {print $2}') GiB; $(grep PRETTY_NAME /etc/os-release | cut -d'"' -f2); kernel $(uname -r)"
  echo "g++ $(g++ -dumpfullversion); glibc $(ldd --version | head -1 | awk '{print $NF}')"
  for p in libtorch-dev libdnnl-dev libopenblas0-pthread libbenchmark-dev; do
    echo "$p $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)"
  done
  echo "maso commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with local changes)')"
  echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt"

# ---- runs ----------------------------------------------------------------------------------
clean_env=(env -u GLIBC_TUNABLES -u OMP_WAIT_POLICY -u OMP_PROC_BIND -u OMP_PLACES -u OMP_NUM_THREADS
  -u OPENBLAS_CORETYPE -u OPENBLAS_NUM_THREADS -u OPENBLAS_L2_SIZE -u MASO_NUM_THREADS)
coretype=Haswell
grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
tuned_env=("${clean_env[@]}"
  GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
  OMP_WAIT_POLICY=passive OPENBLAS_CORETYPE=$coretype)
reps=5
default_reps=3
race_steps=()
if ((quick)); then
  reps=2
  default_reps=1
  race_steps=(--steps 100)
fi
[ -n "${MASO_PEERS_REPS:-}" ] && reps=$MASO_PEERS_REPS
[ -n "${MASO_PEERS_DEFAULT_REPS:-}" ] && default_reps=$MASO_PEERS_DEFAULT_REPS
[ -n "${MASO_PEERS_RACE_STEPS:-}" ] && race_steps=(--steps "$MASO_PEERS_RACE_STEPS")
[ -n "${MASO_PEERS_LARGE_RACE_STEPS:-}" ] && race_steps+=(--large-cnn-steps "$MASO_PEERS_LARGE_RACE_STEPS")
filter=()
[ -n "${MASO_PEERS_FILTER:-}" ] && filter=(--benchmark_filter="$MASO_PEERS_FILTER")

run() { # settings, repetitions, binary
  local settings=$1 n=$2 b=$3 envs
  if [ "$settings" = tuned ]; then envs=("${tuned_env[@]}"); else envs=("${clean_env[@]}"); fi
  echo "== $b, peers $settings, $n repetitions ($(date +%H:%M:%S), load $(load))"
  "${envs[@]}" "$bin/$b" --benchmark_repetitions="$n" --benchmark_enable_random_interleaving=true \
    --benchmark_format=json --benchmark_out="$out/$settings/${b%_bench}.json" \
    --benchmark_context=peer_settings="$settings" "${filter[@]}" >"$out/$settings/${b%_bench}.txt" 2>&1
}
for b in peers_swish_bench peers_conv_bench peers_train_bench; do
  run tuned $reps $b
  run default $default_reps $b
done
echo "== peers_race, tuned ($(date +%H:%M:%S), load $(load))"
"${tuned_env[@]}" "$bin/peers_race" "${race_steps[@]}" --json "$out/race.json" | tee "$out/race.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

write_report
