#!/usr/bin/env python3
"""Print fused / unfused speed ratios per network and pass from bench/networks_bench.

PERFORMANCE.md promises that fuse::all beats fuse::none on every network, forward
and forward+backward. Both forms are registered side by side in networks_bench, so
the ratio comes from one run:

    networks_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
                   --benchmark_format=json --benchmark_out=networks.json
    python3 bench/network_ratios.py networks.json

With repetitions the median aggregate rows are used; without them, the median of
the iteration rows. The ratio is fused images/s divided by unfused images/s
(> 1: fusion is faster), at each thread count; "noise" is the two sides'
coefficients of variation over the repetitions, combined (root of the sum of
squares), so a ratio within about that distance of 1 is a tie; "per repetition" is
the range of repetition i of the fused case over repetition i of the unfused one.
The share of the in-run FMA peak (at the same thread count, on the same clock)
counts only the FLOP of the convolutions and dense layers. The losses of the two
forms are compared too: same seed, same parameters, so they must agree.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_json  # noqa: E402  (bench/support/bench_json.py)

FMA_PEAK = "fma_peak"
FUSED, UNFUSED = "fuse_all", "fuse_none"
PASSES = ("forward", "forward_backward")
FIELDS = ("items_per_second", "FLOP/s", "loss", "batch", "real_time", "cpu_time")
TARGET = 1.0


def load_rows(path):
    """Map run name (without Google Benchmark's "/real_time") to {field: value} (medians),
    plus the context, repetition count and the run; each row keeps its JSON run name."""
    run = bench_json.read(path)
    rows = {}
    for name, row in bench_json.median_rows(run, FIELDS).items():
        parts = name.split("/")
        wall = "real_time" in parts
        key = "/".join(p for p in parts if p != "real_time")
        row = dict(row, run_name=name)
        # cv of the time on the rate's clock = cv of the rate, to first order
        cv = run.cvs.get(name, {}).get("real_time" if wall else "cpu_time")
        if cv is not None:
            row["cv"] = cv
        rows[key] = row
    return run.context, rows, run.repetitions, run


def cases(rows):
    """(network, pass, threads suffix) with both a fused and an unfused row, in a stable
    order; the suffix is "" for a file without thread counts in its names."""
    found = []
    for name in rows:
        parts = name.split("/")
        if len(parts) in (3, 4) and parts[1] in PASSES and parts[2] == FUSED:
            suffix = "/" + parts[3] if len(parts) == 4 else ""
            if f"{parts[0]}/{parts[1]}/{UNFUSED}{suffix}" in rows:
                found.append((parts[0], parts[1], suffix))
    networks = list(dict.fromkeys(n for n, _, _ in found))
    suffixes = sorted({t for _, _, t in found})
    return [(n, p, t) for t in suffixes for n in networks for p in PASSES if (n, p, t) in found]


def fmt_rate(v):
    if v is None:
        return "n/a"
    return f"{v:,.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="file written by --benchmark_format=json --benchmark_out=FILE")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    try:
        context, rows, repetitions, run = load_rows(args.json)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"network_ratios.py: cannot read {args.json}: {e}")
    found = cases(rows)
    if not found:
        sys.exit(f"network_ratios.py: no <network>/<pass>/{FUSED} + {UNFUSED} pairs in {args.json}")

    print(bench_json.header(context))
    print(f"repetitions: {repetitions} ({'medians' if repetitions > 1 else 'single runs'}); "
          "1 thread per CPU second, more per wall-clock second")
    peaks = {}
    for suffix in sorted({t for _, _, t in found}):
        peak = rows.get(FMA_PEAK + suffix, {}).get("FLOP/s")
        peaks[suffix] = peak
        if peak is not None:
            print(f"FMA peak{' ' + suffix[1:] if suffix else ''} (in-run reference): "
                  f"{peak / 1e9:.1f} GFLOP/s")
    print()

    header = ("network", "batch", "threads", "pass", "fused img/s", "none img/s", "fused / none",
              "per repetition", "noise", "fused % peak", "none % peak", "loss match")
    table = []
    missed = []
    for network, kind, suffix in found:
        a = rows[f"{network}/{kind}/{FUSED}{suffix}"]
        b = rows[f"{network}/{kind}/{UNFUSED}{suffix}"]
        peak = peaks.get(suffix)
        threads = suffix[len("/threads_"):] if suffix else "1"
        ia, ib = a.get("items_per_second"), b.get("items_per_second")
        r = None if ia is None or not ib else ia / ib
        if r is not None and r < TARGET:
            missed.append(f"{network} {kind} {threads}t")
        verdict = "n/a" if r is None else f"{r:.3f}x ({'met' if r >= TARGET else 'MISSED'})"
        ca, cb = a.get("cv"), b.get("cv")
        noise = "n/a" if ca is None or cb is None else f"{100 * (ca * ca + cb * cb) ** 0.5:.1f}%"

        def share(row):
            f = row.get("FLOP/s")
            return "n/a" if f is None or not peak else f"{100 * f / peak:.1f}%"

        la, lb = a.get("loss"), b.get("loss")
        if la is None or lb is None:
            match = "n/a"
        else:
            rel = abs(la - lb) / max(abs(lb), 1e-30)
            match = f"{'yes' if rel <= 1e-4 else 'NO'} ({rel:.1e})"
        batch = a.get("batch")
        spread = bench_json.fmt_spread(
            bench_json.paired_ratios(run, a["run_name"], b["run_name"]))
        table.append((network, "?" if batch is None else f"{batch:.0f}", threads,
                      kind.replace("_", "+"), fmt_rate(ia), fmt_rate(ib), verdict, spread, noise,
                      share(a), share(b), match))

    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in table:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
        for r in [header] + table:
            print("  ".join(c.rjust(w) if i > 3 else c.ljust(w)
                            for i, (c, w) in enumerate(zip(r, widths))))
    print()
    print(f"target: fused >= {TARGET:g}x fuse::none on every network, forward and forward+backward"
          + (f"; MISSED on: {', '.join(missed)}" if missed else "; met on every case"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
