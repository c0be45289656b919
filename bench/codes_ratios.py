#!/usr/bin/env python3
"""Print what recording the VQ codes costs a forward pass, from bench/codes_bench's JSON.

    codes_bench --benchmark_repetitions=9 --benchmark_format=json --benchmark_out=codes.json
    python3 bench/codes_ratios.py codes.json

Each case of codes_bench times a plain forward and a forward recording the codes, of two
models of the same network, in alternating order within every iteration, on the thread's
CPU clock, and reports their ratio (codes / plain). This prints, per case, the median of
that ratio over the repetitions, its range, and the median times. Issue 18 asks for at most
1.10.
"""

import json
import statistics
import sys
from collections import defaultdict


def main(path):
    with open(path) as f:
        run = json.load(f)
    rows = defaultdict(list)  # case -> [(ratio, plain_ms, codes_ms)] per repetition
    for b in run["benchmarks"]:
        if b.get("run_type") != "iteration" or "ratio" not in b:
            continue
        rows[b["run_name"]].append((b["ratio"], b["plain_ms"], b["codes_ms"]))
    ctx = run["context"]
    print(f"isa {ctx.get('isa', '?')}, threads {ctx.get('threads', '?')}, "
          f"{ctx.get('compiler', '?')}, {len(next(iter(rows.values()), []))} repetitions")
    print(f"{'case':28} {'codes/plain':>11} {'range':>15} {'plain ms':>9} {'codes ms':>9}")
    worst = 0
    for case, reps in rows.items():
        ratios = [r[0] for r in reps]
        med = statistics.median(ratios)
        worst = max(worst, med)
        print(f"{case:28} {med:11.3f} {min(ratios):7.3f}–{max(ratios):<7.3f} "
              f"{statistics.median(r[1] for r in reps):9.2f} "
              f"{statistics.median(r[2] for r in reps):9.2f}")
    print(f"largest median ratio {worst:.3f} (target ≤ 1.10)")


if __name__ == "__main__":
    main(sys.argv[1])
