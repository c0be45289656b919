#!/usr/bin/env python3
"""Print what each orthogonality path costs against its layer's forward product, from bench/ortho_bench.

For every layer shape (W of K x D) and thread count, one row per path (penalty,
gs_classical, gs_cgs2, cholesky_qr): its time per step (forward and backward,
or the penalty's value and gradient), its ratio to the layer's own forward
product at batch 64 measured in the same run, and its share of a training step
taken as three such products (forward, dW, dX). The target of the fast exact
path: cholesky_qr at most 10% of its layer's training step at 192x1728.

    ortho_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
                --benchmark_format=json --benchmark_out=ortho.json
    python3 bench/ortho_ratios.py ortho.json

With repetitions the median aggregate rows give the ratios, and "spread" is the
range of the ratio over the repetitions' extremes (fastest path / slowest
product to slowest path / fastest product), with the two sides' coefficients
of variation combined (root of the sum of squares). 1-thread cases are timed
in CPU time, 2-thread cases in wall-clock time; a ratio compares cases of one
thread count, hence of one clock. The forward product's GFLOP/s is printed
for context. Only standard-library Python.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_json  # noqa: E402  (bench/support/bench_json.py)

REFERENCE = "forward_product"
PATHS = ("penalty", "gs_classical", "gs_cgs2", "cholesky_qr")
STEP_PRODUCTS = 3.0
TARGET_PATH, TARGET_SHAPE, TARGET_SHARE = "cholesky_qr", "192x1728", 0.10
ADDED = ("real_time", "iterations:", "min_time:", "repeats:")


def strip(run):
    """'cholesky_qr/192x1728/threads_2/real_time' -> ('cholesky_qr/192x1728/threads_2', True)."""
    parts = run.split("/")
    kept = [p for p in parts
            if not any(p == a or (a.endswith(":") and p.startswith(a)) for a in ADDED)]
    return "/".join(kept), "real_time" in parts


def load(path):
    """name -> {time, lo, hi, cv, flops}: seconds per iteration on the case's clock."""
    run = bench_json.read(path)
    rows = {}
    for name, reps in run.iterations.items():
        key, wall = strip(name)
        field = "real_time" if wall else "cpu_time"
        times = [r[field] * unit_seconds(r) for r in reps if field in r]
        if not times:
            continue
        median = run.medians.get(name)
        t = median[field] * unit_seconds(median) if median else sorted(times)[len(times) // 2]
        row = {"time": t, "lo": min(times), "hi": max(times), "wall": wall}
        cv = run.cvs.get(name, {}).get(field)
        if cv is not None:
            row["cv"] = cv
        flops = [r["FLOP/s"] for r in reps if "FLOP/s" in r]
        if flops:
            row["flops"] = (median or {}).get("FLOP/s", sorted(flops)[len(flops) // 2])
        rows[key] = row
    return run, rows


def unit_seconds(row):
    return {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[row.get("time_unit", "ns")]


def ms(t):
    return f"{1e3 * t:.3f}" if t < 0.01 else f"{1e3 * t:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="file written by --benchmark_format=json --benchmark_out=FILE")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    try:
        run, rows = load(args.json)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"ortho_ratios.py: cannot read {args.json}: {e}")

    keys = [k.split("/") for k in rows if k.startswith(REFERENCE + "/")]
    shapes = sorted({k[1] for k in keys}, key=lambda s: tuple(int(x) for x in s.split("x")))
    threads = sorted({int(k[2][len("threads_"):]) for k in keys})
    if not shapes:
        sys.exit(f"ortho_ratios.py: no {REFERENCE}/<K>x<D>/threads_<n> rows in {args.json}")

    print(bench_json.header(run.context))
    print(f"repetitions: {run.repetitions} ({'medians' if run.repetitions > 1 else 'single runs'})")
    print(f"layers: {run.context.get('maso_ortho_layers', '?')}")
    print()
    header = ("threads", "layer", "path", "ms", "x forward product", "spread", "noise",
              "share of step")
    table, verdicts = [], []
    for n in threads:
        for shape in shapes:
            ref = rows.get(f"{REFERENCE}/{shape}/threads_{n}")
            if ref is None:
                continue
            rate = f" ({ref['flops'] / 1e9:.0f} GFLOP/s)" if ref.get("flops") else ""
            table.append((str(n), shape, REFERENCE + rate, ms(ref["time"]), "1",
                          "", f"{100 * ref['cv']:.1f}%" if "cv" in ref else "n/a",
                          f"{100 / STEP_PRODUCTS:.1f}%"))
            for path in PATHS:
                row = rows.get(f"{path}/{shape}/threads_{n}")
                if row is None:
                    continue
                r = row["time"] / ref["time"]
                spread = f"{row['lo'] / ref['hi']:.3g}-{row['hi'] / ref['lo']:.3g}"
                cvs = [x.get("cv") for x in (row, ref)]
                noise = "n/a" if None in cvs else f"{100 * (cvs[0] ** 2 + cvs[1] ** 2) ** 0.5:.1f}%"
                share = r / STEP_PRODUCTS
                text = f"{100 * share:.1f}%"
                if path == TARGET_PATH and shape == TARGET_SHAPE:
                    ok = share <= TARGET_SHARE
                    text += " (met)" if ok else " (MISSED)"
                    verdicts.append((n, ok, share, row["hi"] / ref["lo"] / STEP_PRODUCTS))
                table.append((str(n), shape, path, ms(row["time"]), f"{r:.3g}", spread, noise,
                              text))

    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in table:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
        for r in [header] + table:
            print("  ".join(c.rjust(w) if i >= 3 else c.ljust(w)
                            for i, (c, w) in enumerate(zip(r, widths))))
    print()
    for n, ok, share, worst in verdicts:
        print(f"target ({TARGET_PATH} <= {100 * TARGET_SHARE:.0f}% of the {TARGET_SHAPE} layer's "
              f"training step), {n} thread{'s' if n > 1 else ''}: {100 * share:.1f}% "
              f"(worst repetition pairing {100 * worst:.1f}%): {'holds' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
