#!/usr/bin/env python3
"""Print what recording the VQ codes costs a forward pass, from bench/codes_bench's JSON.

    codes_bench --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true \\
                --benchmark_format=json --benchmark_out=codes.json
    python3 bench/codes_ratios.py codes.json

For each case the ratio is the forward's CPU time with codes over its CPU time without,
repetition by repetition (repetition i of one side over repetition i of the other: they ran
close together); the line gives the median ratio, the range over the repetitions, and
each side's coefficient of variation. Issue 18 asks for a median at most 1.10.
"""

import json
import statistics
import sys
from collections import defaultdict


def main(path):
    with open(path) as f:
        run = json.load(f)
    times = defaultdict(dict)  # case -> side -> [cpu_time per repetition]
    for b in run["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        case, side = b["run_name"].rsplit("/", 1)
        times[case].setdefault(side, []).append(b["cpu_time"])
    ctx = run["context"]
    print(f"isa {ctx.get('isa', '?')}, threads {ctx.get('threads', '?')}, "
          f"{ctx.get('compiler', '?')}, {ctx.get('num_cpus', '?')} CPUs")
    print(f"{'case':32} {'codes/plain':>11} {'range':>15} {'cv plain':>9} {'cv codes':>9}")
    worst = 0
    for case, sides in times.items():
        plain, codes = sides.get("plain", []), sides.get("codes", [])
        n = min(len(plain), len(codes))
        if n == 0:
            continue
        ratios = [codes[i] / plain[i] for i in range(n)]
        med = statistics.median(ratios)
        worst = max(worst, med)

        def cv(x):
            return statistics.pstdev(x) / statistics.mean(x) if len(x) > 1 else 0.0

        print(f"{case:32} {med:11.3f} {min(ratios):7.3f}–{max(ratios):<7.3f} "
              f"{cv(plain):9.3f} {cv(codes):9.3f}")
    print(f"largest median ratio {worst:.3f} (target ≤ 1.10)")


if __name__ == "__main__":
    main(sys.argv[1])
