#!/usr/bin/env python3
"""Print the conv block and largeCNN train-step ratios of conv_block_bench, train_step_bench.

PERFORMANCE.md's targets, each a ratio inside one run of one binary:

- the convolution forward of the block (N = 32, 96x32x32 -> conv 96, 3x3) reaches
  >= 85% of the in-run FMA peak;
- its beta-VQ + pooling epilogue (max or softmax pooling) adds <= 10% to the
  convolution alone: block time / conv-alone time - 1, forward, fused;
- fuse::all beats fuse::none on every case;
- training largeCNN on 2 threads (train_step_bench): images/s, fused / none, and
  the share of the FMA peak at the same thread count.

    conv_block_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
                     --benchmark_format=json --benchmark_out=conv_block.json
    train_step_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \\
                     --benchmark_format=json --benchmark_out=train_step.json
    python3 bench/conv_ratios.py conv_block.json train_step.json

Either file may be given alone, in any order; each is compared only with the
references (fma_peak/threads_<n>, copy/threads_<n> and copy_stream/threads_<n>) of its
own run. With
repetitions the median aggregate rows are used; without them, the median of the
iteration rows. 1-thread cases are rated per CPU second, 2-thread cases per
wall-clock second, each against the peak measured on the same clock and thread
count. The share of the peak counts only the convolutions' FLOP (forward, dW and
dX); the epilogue overhead compares images/s with conv_alone fused at the same
pass and thread count. "noise" is the two sides' coefficients of variation over
the repetitions, combined (root of the sum of squares); "per repetition" is the
range of repetition i of the fused case over repetition i of the unfused one. Only standard-library Python.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_json  # noqa: E402  (bench/support/bench_json.py)

PEAK = "fma_peak"
COPIES = ("copy", "copy_stream")  # ordinary and streaming stores (bench/support/vector_copy.hpp)
CONV = "conv_alone"
KERNEL = "conv_kernel"
BLOCKS = ("conv_maxpool", "conv_softpool")
PASSES = ("forward", "forward_backward")
FUSED, UNFUSED = "fuse_all", "fuse_none"
TRAIN = "large_cnn/train_step"
FIELDS = ("items_per_second", "bytes_per_second", "FLOP/s", "loss", "batch", "pool_threads",
          "real_time", "cpu_time")
# Name segments Google Benchmark appends (UseRealTime, Iterations, MinTime).
ADDED = ("real_time", "iterations:", "min_time:", "repeats:")

CONV_PEAK_GOAL = 85.0  # % of the peak, conv alone, forward, fused
EPILOGUE_GOAL = 10.0   # % added by the epilogue, forward, fused
FUSION_GOAL = 1.0      # fused / none


def strip(run):
    """Drops the segments Google Benchmark appends; True if the run is timed by wall clock.

    'conv_alone/forward/fuse_all/threads_2/real_time'
    -> ('conv_alone/forward/fuse_all/threads_2', True)
    """
    parts = run.split("/")
    kept = [p for p in parts
            if not any(p == a or (a.endswith(":") and p.startswith(a)) for a in ADDED)]
    return "/".join(kept), "real_time" in parts


def load(path):
    """Rows keyed by the name without Google Benchmark's suffixes, each with its cv."""
    run = bench_json.read(path)
    medians = bench_json.median_rows(run, FIELDS)
    rows = {}
    for name, row in medians.items():
        key, wall = strip(name)
        row = dict(row, wall=wall, run_name=name)
        cv = run.cvs.get(name, {}).get("real_time" if wall else "cpu_time")
        if cv is not None:
            row["cv"] = cv
        rows[key] = row
    return run, rows


def threads_of(rows, prefix):
    """The thread counts n with a row '<prefix>.../threads_<n>', ascending."""
    found = set()
    for key in rows:
        if key.startswith(prefix):
            last = key.rsplit("/", 1)[-1]
            if last.startswith("threads_") and last[8:].isdigit():
                found.add(int(last[8:]))
    return sorted(found)


def get(rows, name, key):
    return rows.get(name, {}).get(key)


def ratio(a, b):
    return None if a is None or not b else a / b


def spread(run, a, b):
    """The range of fused / none over the repetitions, repetition i against repetition i."""
    if not a or not b:
        return "n/a"
    return bench_json.fmt_spread(bench_json.paired_ratios(run, a["run_name"], b["run_name"]))


def pct(v, digits=1):
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"


def noise(*rows):
    cvs = [r.get("cv") for r in rows if r is not None]
    if not cvs or any(c is None for c in cvs):
        return "n/a"
    return f"{100 * sum(c * c for c in cvs) ** 0.5:.1f}%"


def verdict(value, goal, higher_is_better=True):
    if value is None:
        return ""
    ok = value >= goal if higher_is_better else value <= goal
    return " (met)" if ok else " (MISSED)"


def print_table(header, table, markdown, left=2):
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in table:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
    for r in [header] + table:
        print("  ".join(c.rjust(w) if i >= left else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))


def references(rows, threads):
    """One line per thread count: the in-run FMA peak and copy bandwidth."""
    for n in threads:
        suffix = f"threads_{n}"
        peak = get(rows, f"{PEAK}/{suffix}", "FLOP/s")
        copies = [get(rows, f"{c}/{suffix}", "bytes_per_second") for c in COPIES]
        clock = "wall-clock" if rows.get(f"{PEAK}/{suffix}", {}).get("wall") else "CPU time"
        text = f"  {n} thread{'s' if n > 1 else ''}: FMA peak "
        text += "n/a" if peak is None else f"{peak / 1e9:.1f} GFLOP/s"
        if any(c is not None for c in copies):
            text += ", copy " + " / ".join("n/a" if c is None else f"{c / 1e9:.1f}"
                                           for c in copies) + " GB/s (ordinary / streaming stores)"
        print(text + f" ({clock})")


def repetitions_text(run):
    return f"{run.repetitions} ({'medians' if run.repetitions > 1 else 'single runs'})"


def conv_section(path, run, rows, markdown):
    threads = threads_of(rows, CONV + "/")
    print(f"== conv_block_bench: {path}")
    print(bench_json.header(run.context))
    print(f"repetitions: {repetitions_text(run)}; "
          f"batch {run.context.get('maso_conv_block_batch', '?')}")
    references(rows, threads)
    print()
    header = ("threads", "pass", "block", "fused img/s", "fused % peak", "none % peak",
              "fused / none", "per repetition", "noise", "epilogue fused", "epilogue none")
    table, missed = [], []
    for n in threads:
        suffix = f"threads_{n}"
        peak = get(rows, f"{PEAK}/{suffix}", "FLOP/s")
        for kind in PASSES:
            conv = get(rows, f"{CONV}/{kind}/{FUSED}/{suffix}", "items_per_second")
            for block in (CONV,) + BLOCKS:
                a = rows.get(f"{block}/{kind}/{FUSED}/{suffix}")
                b = rows.get(f"{block}/{kind}/{UNFUSED}/{suffix}")
                if a is None and b is None:
                    continue
                a, b = a or {}, b or {}
                share_a = ratio(a.get("FLOP/s"), peak)
                fusion = ratio(a.get("items_per_second"), b.get("items_per_second"))
                # conv alone has nothing to fuse: its fused / none is a tie, not a target
                judged = block != CONV
                if judged and fusion is not None and fusion < FUSION_GOAL:
                    missed.append(f"fused/none {block} {kind} {n}t")
                fused_text = pct(share_a)
                if block == CONV and kind == "forward" and share_a is not None:
                    fused_text += verdict(100 * share_a, CONV_PEAK_GOAL)
                    if 100 * share_a < CONV_PEAK_GOAL:
                        missed.append(f"conv % peak {n}t")
                epilogue = ["", ""]
                if block != CONV:
                    for i, row in enumerate((a, b)):
                        r = ratio(conv, row.get("items_per_second"))
                        over = None if r is None else r - 1
                        epilogue[i] = pct(over)
                        if i == 0 and kind == "forward" and over is not None:
                            epilogue[i] += verdict(100 * over, EPILOGUE_GOAL,
                                                   higher_is_better=False)
                            if 100 * over > EPILOGUE_GOAL:
                                missed.append(f"epilogue {block} {n}t")
                table.append((
                    str(n), kind.replace("_", "+"), block,
                    "n/a" if a.get("items_per_second") is None else f"{a['items_per_second']:,.1f}",
                    fused_text, pct(ratio(b.get("FLOP/s"), peak)),
                    "n/a" if fusion is None
                    else f"{fusion:.3f}x{verdict(fusion, FUSION_GOAL) if judged else ''}",
                    spread(run, a, b), noise(a, b) if a and b else "n/a", epilogue[0] or "-",
                    epilogue[1] or "-"))
    print_table(header, table, markdown, left=3)
    print()
    for n in threads:
        suffix = f"threads_{n}"
        peak = get(rows, f"{PEAK}/{suffix}", "FLOP/s")
        shares = [(order, ratio(get(rows, f"{KERNEL}/{order}/{suffix}", "FLOP/s"), peak))
                  for order in ("natural", "windows")]
        if any(v is not None for _, v in shares):
            print(f"{n} thread{'s' if n > 1 else ''}: the forward product alone (implicit GEMM, "
                  "padded input ready): "
                  + ", ".join(f"{order} order {pct(v)} of the peak" for order, v in shares))
    print()
    print(f"targets: conv_alone forward fused >= {CONV_PEAK_GOAL:g}% of the peak; epilogue "
          f"(block / conv_alone fused - 1) <= {EPILOGUE_GOAL:g}% forward fused; fused >= "
          f"{FUSION_GOAL:g}x none on every block with an epilogue"
          + (f"; MISSED: {', '.join(missed)}" if missed else "; met on every case"))
    return bool(table)


def train_section(path, run, rows, markdown):
    threads = threads_of(rows, TRAIN + "/")
    print(f"== train_step_bench: {path}")
    print(bench_json.header(run.context))
    flop = run.context.get("maso_train_step_flop_per_image")
    print(f"repetitions: {repetitions_text(run)}; "
          f"batch {run.context.get('maso_train_step_batch', '?')}; conv GFLOP per image "
          + ("?" if flop is None else f"{float(flop) / 1e9:.3f}")
          + " (batch norm, units, loss and SGD not counted)")
    references(rows, threads)
    print()
    header = ("threads", "fused img/s", "none img/s", "fused / none", "per repetition", "noise",
              "fused % peak", "none % peak", "loss match")
    table, missed = [], []
    for n in sorted(threads, reverse=True):
        suffix = f"threads_{n}"
        peak = get(rows, f"{PEAK}/{suffix}", "FLOP/s")
        a = rows.get(f"{TRAIN}/{FUSED}/{suffix}") or {}
        b = rows.get(f"{TRAIN}/{UNFUSED}/{suffix}") or {}
        ia, ib = a.get("items_per_second"), b.get("items_per_second")
        fusion = ratio(ia, ib)
        if fusion is not None and fusion < FUSION_GOAL:
            missed.append(f"{n}t")
        la, lb = a.get("loss"), b.get("loss")
        if la is None or lb is None:
            match = "n/a"
        else:
            rel = abs(la - lb) / max(abs(lb), 1e-30)
            match = f"{'yes' if rel <= 1e-3 else 'NO'} ({rel:.1e})"
        table.append((
            str(n), "n/a" if ia is None else f"{ia:,.1f}", "n/a" if ib is None else f"{ib:,.1f}",
            "n/a" if fusion is None else f"{fusion:.3f}x{verdict(fusion, FUSION_GOAL)}",
            spread(run, a, b), noise(a, b) if a and b else "n/a",
            pct(ratio(a.get("FLOP/s"), peak)), pct(ratio(b.get("FLOP/s"), peak)), match))
    print_table(header, table, markdown, left=1)
    print()
    print(f"target: fused >= {FUSION_GOAL:g}x none at every thread count; the peer figure is "
          "libtorch at ~150-165 img/s, ~70-75% of the 2-core peak (PERFORMANCE.md)"
          + (f"; fused/none MISSED at {', '.join(missed)}" if missed else ""))
    return bool(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+",
                        help="files written by --benchmark_format=json --benchmark_out=FILE")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    printed = False
    for path in args.json:
        try:
            run, rows = load(path)
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"conv_ratios.py: cannot read {path}: {e}")
        if printed:
            print()
        if threads_of(rows, CONV + "/"):
            printed = conv_section(path, run, rows, args.markdown) or printed
        elif threads_of(rows, TRAIN + "/"):
            printed = train_section(path, run, rows, args.markdown) or printed
        else:
            sys.exit(f"conv_ratios.py: no {CONV}/... or {TRAIN}/... rows in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
