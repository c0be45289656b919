#!/usr/bin/env python3
"""Turn bench/step_profile's JSON into a table of where largeCNN's training step goes.

    step_profile --steps 10 --threads 1,2 > profile.json
    python3 bench/step_profile.py profile.json [--markdown docs/performance.md] [--command CMD]

For each thread count: every pass's time per step, its share of the step, and for the
products (the forward product on the tiles or with the statistics, dW, dX) their FLOP/s as
a share of the FMA peak measured in the same run; then the step's time split into the
products at the peak's pace, what the products lose to it, the other passes of the program,
the model's own passes (the input's conversion, the layers' hooks, the optimiser's update),
and what no pass accounts for. With --markdown, the text between the markers
<!-- step-profile:begin --> and <!-- step-profile:end --> of that file is replaced; without
it the tables are printed. Only standard-library Python.
"""

import argparse
import json
import sys

BEGIN = "<!-- step-profile:begin (written by bench/step_profile.py) -->"
END = "<!-- step-profile:end -->"
PRODUCTS = {"tiles", "statistics", "product", "dW", "dX"}
MODEL = {"input", "hooks", "update"}


def short(label):
    """A group's first node, and how many follow it: "conv2d<96, 3, …> + 2"."""
    nodes = label.split(" >> ")
    return nodes[0] + (f" + {len(nodes) - 1}" if len(nodes) > 1 else "")


def table(run, batch):
    groups = run["groups"]
    step = run["step_seconds"]
    peak = run["peak_flops"]
    lines = [
        f"**{run['threads']} thread{'s' if run['threads'] > 1 else ''}**: a step takes "
        f"{1e3 * step:.1f} ms ({batch / step:.0f} images/s); the FMA peak measured beside it "
        f"is {peak / 1e9:.0f} GFLOP/s.",
        "",
        "| group (its first node + the nodes after it) | pass | ms / step | share of the step | "
        "GFLOP/s | % of peak |",
        "|---|---|---|---|---|---|",
    ]
    totals = {"products": 0.0, "product_flop": 0.0, "passes": 0.0, "model": 0.0}
    # In the order they run: the model's input, forward by group, backward from the last
    # group, the model's hooks and update.
    def order(e):
        model = e["group"] >= len(groups)
        if e["backward"]:
            return (1, model, -e["group"])
        return (0, not model, e["group"])

    for e in sorted(run["entries"], key=order):
        g = e["group"]
        where = "model" if g >= len(groups) else f"{g}: {short(groups[g])}"
        direction = "backward" if e["backward"] else "forward"
        rate = e["flop"] / e["seconds"] if e["seconds"] > 0 and e["flop"] > 0 else 0
        gflops, share_of_peak = (f"{rate / 1e9:.0f}", f"{100 * rate / peak:.0f}%") if rate else ("", "")
        lines.append(f"| {where} | {direction} {e['name']} | {1e3 * e['seconds']:.2f} | "
                     f"{100 * e['seconds'] / step:.1f}% | {gflops} | {share_of_peak} |")
        if e["name"] in PRODUCTS:
            totals["products"] += e["seconds"]
            totals["product_flop"] += e["flop"]
        elif g >= len(groups) or e["name"] in MODEL:
            totals["model"] += e["seconds"]
        else:
            totals["passes"] += e["seconds"]
    at_peak = totals["product_flop"] / peak
    lost = totals["products"] - at_peak
    rest = step - totals["products"] - totals["passes"] - totals["model"]
    lines += [
        "",
        f"Of the step: the products at the peak's pace {100 * at_peak / step:.1f}% "
        f"(their FLOP ÷ the peak: the step runs at {100 * at_peak / step:.0f}% of the peak); "
        f"what the products lose to the peak {100 * lost / step:.1f}% (they run at "
        f"{100 * at_peak / totals['products']:.0f}% of it); the other passes of the program "
        f"{100 * totals['passes'] / step:.1f}%; the model's own passes "
        f"{100 * totals['model'] / step:.1f}%; outside every timed pass {100 * rest / step:.1f}%.",
        "",
    ]
    return lines


def render(profile, command):
    runs = profile["runs"]
    out = [BEGIN, "",
           f"Measured by `{command}` (ISA `{profile['isa']}`, batch {profile['batch']}, "
           f"{profile['steps']} timed steps after 2 warm-up steps; times are per step).", ""]
    for run in runs:
        out += table(run, profile["batch"])
    by_threads = {r["threads"]: r for r in runs}
    if 1 in by_threads and 2 in by_threads:
        t1, t2 = by_threads[1]["step_seconds"], by_threads[2]["step_seconds"]
        out += [f"Parallel efficiency on 2 threads: {100 * t1 / (2 * t2):.0f}% "
                f"(1 thread's step ÷ twice 2 threads').", ""]
    out.append(END)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--markdown", help="a page whose marked section is replaced")
    ap.add_argument("--command", default="bench/step_profile --steps 10 --threads 1,2")
    args = ap.parse_args()
    with open(args.profile, encoding="utf-8") as f:
        profile = json.load(f)
    text = render(profile, args.command)
    if not args.markdown:
        print(text)
        return
    with open(args.markdown, encoding="utf-8") as f:
        page = f.read()
    if BEGIN not in page or END not in page:
        sys.exit(f"step_profile.py: {args.markdown} has no '{BEGIN}' … '{END}' section")
    head, rest = page.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(args.markdown, "w", encoding="utf-8") as f:
        f.write(head + text + tail)


if __name__ == "__main__":
    main()
