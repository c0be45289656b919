#!/usr/bin/env python3
"""Print the ratios PERFORMANCE.md promises for the elementwise beta-VQ pass.

Every figure is a ratio between two benchmarks of the same run of
bench/beta_vq_bench, because absolute speed on shared machines drifts:

    beta_vq_bench --benchmark_repetitions=3 --benchmark_format=json \\
                  --benchmark_out=run.json
    python3 bench/ratios.py run.json

With repetitions the median aggregate rows are used; without them, the median
of whatever iteration rows the file holds (one row per benchmark, usually).
Adding --benchmark_enable_random_interleaving=true to the benchmark run spreads
the repetitions of the references and of maso over the same stretch of time.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_json  # noqa: E402  (bench/support/bench_json.py)

FMA_PEAK = "fma_peak"
COPIES = ("copy", "copy_stream")  # ordinary and streaming stores: the faster is the reference
SCALAR_EXP = "scalar_exp_loop"
FORWARD = "beta_vq_forward"
FORWARD_BACKWARD = "beta_vq_forward_backward"
FORWARD_MASO_SCALAR = "beta_vq_forward_scalar"

# The targets, and the sizes they are promised at: "in cache" is every size
# below the DRAM one (4 Ki floats sit in L1/L2, 256 Ki in L2/L3).
SCALAR_TARGET = 8.0
COPY_TARGET = 0.8
DRAM_SIZE = 16 * 1024 * 1024


def load_rows(path):
    """Map run name ("copy/4096") to {field: value}, medians where there are several.

    Also returns the context block and the repetition count.
    """
    run = bench_json.read(path)
    rows = bench_json.median_rows(run, ("items_per_second", "bytes_per_second", "FLOP/s"))
    return run.context, rows, run.repetitions


def field(rows, family, size, key):
    name = family if size is None else f"{family}/{size}"
    return rows.get(name, {}).get(key)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def copy_rate(rows, size):
    """Bytes/s of the faster copy at this size (bench/support/vector_copy.hpp)."""
    rates = [field(rows, c, size, "bytes_per_second") for c in COPIES]
    rates = [r for r in rates if r is not None]
    return max(rates) if rates else None


def fmt_size(n):
    for unit, scale in (("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n % scale == 0:
            return f"{n // scale} {unit}"
    return str(n)


def fmt_ratio(value, suffix="", target=None):
    if value is None:
        return "n/a"
    digits = 2
    if target is not None and value < target <= round(value, digits):
        digits = 4  # so that "MISSED" is never printed beside a figure that reads as met
    text = f"{value:.{digits}f}{suffix}"
    if target is not None:
        text += f" ({'met' if value >= target else 'MISSED'}: >= {target:g}{suffix})"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="file written by --benchmark_format=json --benchmark_out=FILE")
    args = parser.parse_args()
    try:
        context, rows, repetitions = load_rows(args.json)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"ratios.py: cannot read {args.json}: {e}")

    sizes = sorted({int(name.split("/")[1]) for name in rows
                    if name.startswith(FORWARD + "/") and name.split("/")[1].isdigit()})
    if not sizes:
        sys.exit(f"ratios.py: no {FORWARD}/<size> rows in {args.json}")

    print(bench_json.header(context, ("maso_isa", "maso_threads", "compiler", "host_name")))
    print(f"repetitions: {repetitions} ({'medians' if repetitions > 1 else 'single runs'})")
    peak = field(rows, FMA_PEAK, None, "FLOP/s")
    if peak is not None:
        print(f"FMA peak (in-run reference): {peak / 1e9:.1f} GFLOP/s")
    print()

    header = ("size", "fwd el/ns", "fwd / scalar std::exp", "fwd / maso scalar",
              "fwd B/s / copy", "fwd+bwd B/s / copy", "copy / stream GB/s")
    table = []
    for n in sizes:
        in_cache = n < DRAM_SIZE
        fwd_items = field(rows, FORWARD, n, "items_per_second")
        table.append((
            fmt_size(n),
            "n/a" if fwd_items is None else f"{fwd_items / 1e9:.3f}",
            fmt_ratio(ratio(fwd_items, field(rows, SCALAR_EXP, n, "items_per_second")), "x",
                      SCALAR_TARGET if in_cache else None),
            fmt_ratio(ratio(fwd_items, field(rows, FORWARD_MASO_SCALAR, n, "items_per_second")),
                      "x"),
            fmt_ratio(ratio(field(rows, FORWARD, n, "bytes_per_second"), copy_rate(rows, n)),
                      target=None if in_cache else COPY_TARGET),
            fmt_ratio(ratio(field(rows, FORWARD_BACKWARD, n, "bytes_per_second"),
                            copy_rate(rows, n)),
                      target=None if in_cache else COPY_TARGET),
            " / ".join("n/a" if v is None else f"{v / 1e9:.1f}"
                       for v in (field(rows, c, n, "bytes_per_second") for c in COPIES)),
        ))
    widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
    for r in [header] + table:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    print(f"targets: fwd >= {SCALAR_TARGET:g}x the scalar std::exp loop in cache (sizes below "
          f"{fmt_size(DRAM_SIZE)}); fwd and fwd+bwd >= {COPY_TARGET:g} of copy bandwidth at "
          f"{fmt_size(DRAM_SIZE)}; copy = the faster of the vectorised copies with ordinary and "
          "with streaming stores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
