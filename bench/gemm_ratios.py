#!/usr/bin/env python3
"""Print the packed GEMM's share of the in-run FMA peak per size from bench/gemm_bench.

PERFORMANCE.md's target: square fp32 GEMM at 256-1024 on one core reaches at least
85% of the FMA peak measured by the same binary. gemm_bench registers the peak
next to each size, so the ratio comes from one run:

    gemm_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
               --benchmark_format=json --benchmark_out=gemm.json
    python3 bench/gemm_ratios.py gemm.json

With repetitions the median aggregate rows are used; without them, the median of
the iteration rows. Each size is compared with the peak registered at that size
(fma_peak/<n>), or with the median of all peak rows if that one is missing.
Rates are per CPU second. Only standard-library Python.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_json  # noqa: E402  (bench/support/bench_json.py)

PEAK = "fma_peak"
TARGET = "gemm_nn"
OTHERS = ("gemm_nt", "gemm_tn")
PLAIN = "gemm_plain"
COUNTER = "GFLOP/s"
GOAL = 85.0  # percent of the in-run peak


def load_rows(path):
    """Map run name to {GFLOP/s, cv}, plus the context and the repetition count."""
    run = bench_json.read(path)
    rows = {}
    for name, reps in run.iterations.items():
        values = [r[COUNTER] for r in reps if COUNTER in r]
        if name in run.medians and COUNTER in run.medians[name]:
            rows[name] = {COUNTER: run.medians[name][COUNTER]}
        elif values:
            rows[name] = {COUNTER: statistics.median(values)}
        else:
            continue
        if len(values) > 1:
            rows[name]["cv"] = statistics.pstdev(values) / statistics.mean(values)
        elif name in run.cvs and COUNTER in run.cvs[name]:
            rows[name]["cv"] = run.cvs[name][COUNTER]
    return run.context, rows, run.repetitions


def split(run):
    """'gemm_nn/512' -> ('gemm_nn', 512); None for other names."""
    parts = run.split("/")
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="file written by --benchmark_format=json --benchmark_out=FILE")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    try:
        context, rows, repetitions = load_rows(args.json)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"gemm_ratios.py: cannot read {args.json}: {e}")

    rate = {}
    for run, row in rows.items():
        key = split(run)
        if key is not None:
            rate[key] = row
    sizes = sorted({n for (name, n) in rate if name == TARGET})
    peaks = [row[COUNTER] for (name, _), row in rate.items() if name == PEAK]
    if not sizes or not peaks:
        sys.exit(f"gemm_ratios.py: no {TARGET}/<n> and {PEAK}/<n> rows in {args.json}")
    overall_peak = statistics.median(peaks)

    print(bench_json.header(context))
    print(f"blocking: {context.get('maso_gemm_blocking', '?')}; repetitions: {repetitions} "
          f"({'medians' if repetitions > 1 else 'single runs'}); rates per CPU second")
    print(f"FMA peak (in-run reference): {overall_peak:.1f} GFLOP/s (median over sizes)")
    print()

    def pct(name, n, peak):
        row = rate.get((name, n))
        return "n/a" if row is None else f"{100 * row[COUNTER] / peak:.1f}%"

    header = ("size", "peak GFLOP/s", "nn GFLOP/s", "nn % peak", "noise", "nt % peak",
              "tn % peak", "plain % peak", "nn / plain")
    table, missed = [], []
    for n in sizes:
        peak = rate.get((PEAK, n), {}).get(COUNTER, overall_peak)
        nn = rate[(TARGET, n)]
        share = 100 * nn[COUNTER] / peak
        if share < GOAL:
            missed.append(f"{n} ({share:.1f}%)")
        cvs = [r["cv"] for r in (nn, rate.get((PEAK, n), {})) if "cv" in r]
        noise = "n/a" if not cvs else f"{100 * sum(c * c for c in cvs) ** 0.5:.1f}%"
        plain = rate.get((PLAIN, n))
        speedup = "n/a" if plain is None else f"{nn[COUNTER] / plain[COUNTER]:.1f}x"
        table.append((f"{n}", f"{peak:.1f}", f"{nn[COUNTER]:.1f}", f"{share:.1f}%", noise,
                      pct(OTHERS[0], n, peak), pct(OTHERS[1], n, peak), pct(PLAIN, n, peak),
                      speedup))

    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---:|" * len(header))
        for r in table:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
        for r in [header] + table:
            print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print()
    print(f"target: {TARGET} >= {GOAL:g}% of the in-run FMA peak at every size"
          + (f"; MISSED at {', '.join(missed)}" if missed else "; met at every size"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
