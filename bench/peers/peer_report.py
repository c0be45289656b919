#!/usr/bin/env python3
"""Turn the peer benchmarks' JSON into docs/benchmarks.md and the README's headline table.

scripts/peers.sh runs bench/peers' three benchmark binaries twice — with the peers tuned
(malloc tunables, OMP_WAIT_POLICY=passive, OPENBLAS_CORETYPE) and out of the box (none of
it) — and the training race once, tuned, then calls:

    python3 bench/peers/peer_report.py --tuned DIR --default DIR --race race.json \\
        --machine machine.txt --command "scripts/peers.sh" \\
        [--markdown docs/benchmarks.md] [--readme README.md] [--notes bench/peers/notes.md]

DIR holds peers_swish.json, peers_conv.json and peers_train.json. Every figure is a median
over repetitions; every ratio is maso ÷ the peer, both measured in the same run of the same
binary (images or elements per second, so > 1 means maso is faster). The spread of a ratio
is the range from the slowest maso repetition over the fastest peer repetition to the
fastest maso over the slowest peer: the ratio holds across the whole run only if that
range stays on one side of the target. Only standard-library Python.
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_json  # noqa: E402  (bench/support/bench_json.py)

FILES = ("peers_swish", "peers_conv", "peers_train")
ADDED = ("real_time", "iterations:", "min_time:")
README_BEGIN = "<!-- peers:begin (written by bench/peers/peer_report.py) -->"
README_END = "<!-- peers:end -->"

# The targets of the issue "Measured against the peers", each against the tuned peer.
CONV_ONEDNN_GOAL = 1.0   # conv + swish + max pooling, maso ÷ oneDNN
SOFTPOOL_GOAL = 3.0      # conv + swish + softmax pooling, maso ÷ libtorch
SWISH_GOAL = 2.0         # swish forward+backward, maso ÷ libtorch
RACE_GOAL = 1e-5         # per-step loss, |maso − libtorch| / libtorch, first 10 steps


def strip(name):
    """'large_cnn/train_step/maso_fused/threads_2/iterations:3/real_time' → without the tail."""
    parts = [p for p in name.split("/")
             if not any(p == a or (a.endswith(":") and p.startswith(a)) for a in ADDED)]
    return "/".join(parts)


class Run:
    """One binary's output: per case (name without Google Benchmark's tail) the rates of
    its repetitions, and the context."""

    def __init__(self, path):
        run = bench_json.read(path)
        self.context = run.context
        self.rates = {}
        self.errors = {}
        with open(path, encoding="utf-8") as f:
            for row in json.load(f).get("benchmarks", []):
                if row.get("error_occurred"):
                    self.errors[strip(row.get("run_name", row["name"]))] = row.get(
                        "error_message", "error")
        for name, reps in run.iterations.items():
            key = strip(name)
            values = [r.get("items_per_second") or r.get("FLOP/s") for r in reps]
            self.rates[key] = [v for v in values if v]

    def median(self, key):
        v = self.rates.get(key)
        return statistics.median(v) if v else None

    def spread(self, key):
        """(max/min − 1) of a case's repetitions, as a fraction."""
        v = self.rates.get(key)
        return max(v) / min(v) - 1 if v and min(v) > 0 else None


def load(directory):
    runs = {}
    for f in FILES:
        path = os.path.join(directory, f + ".json")
        if os.path.exists(path):
            runs[f] = Run(path)
    return runs


class Ratio:
    def __init__(self, run, ours, theirs):
        self.ours, self.theirs = ours, theirs
        a, b = run.rates.get(ours), run.rates.get(theirs)
        if not a or not b:
            self.value = self.low = self.high = None
            return
        self.value = statistics.median(a) / statistics.median(b)
        self.low = min(a) / max(b)
        self.high = max(a) / min(b)

    def __bool__(self):
        return self.value is not None

    def text(self, digits=2):
        if not self:
            return "–"
        return f"{self.value:.{digits}f}× ({self.low:.{digits}f}–{self.high:.{digits}f})"


def best_peer(run, keys):
    """The key of the fastest (median) among the peer cases that ran."""
    found = [(run.median(k), k) for k in keys if run.median(k)]
    return max(found)[1] if found else None


def fmt_rate(v, unit=""):
    if v is None:
        return "–"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.3g} {suffix}{unit}"
    return f"{v:.3g} {unit}".strip()


def verdict(ratio, goal):
    if not ratio:
        return "not measured"
    if ratio.low >= goal:
        return f"**met** (every repetition ≥ {goal:g}×)"
    if ratio.value >= goal:
        return f"met by the median, not by every repetition (≥ {goal:g}×)"
    return f"**missed** (< {goal:g}×)"


# ---- the comparisons --------------------------------------------------------------------

SWISH_PEERS = ("torch_swish", "torch_silu", "onednn")
SWISH_SIZES = ("65536", "16777216")
TORCH_MAX = ("torch_nchw_swish_layer", "torch_cl_swish_layer", "torch_nchw_silu", "torch_cl_silu")
TORCH_SOFT_SAFE = ("torch_nchw_swish_layer_unfold", "torch_cl_swish_layer_unfold")
TORCH_SOFT_FAST = ("torch_nchw_swish_layer_avgpool", "torch_cl_swish_layer_avgpool")
LARGE_PEERS = ("torch_nchw_swish_channel", "torch_cl_swish_channel", "torch_nchw_silu",
               "torch_cl_silu")
MLP_PEERS = ("torch_swish_layer", "torch_silu")
PASSES = ("forward", "forward_backward")
PASS_NAME = {"forward": "forward", "forward_backward": "forward+backward"}


def headline(tuned, default):
    """(workload, maso ÷ tuned peer, maso ÷ out-of-the-box peer, what the peer is) rows."""
    rows = []

    def row(label, file, ours, peer_keys, what):
        t, d = tuned.get(file), default.get(file)
        if not t:
            return
        peer = best_peer(t, peer_keys)
        if not peer:
            return
        r = Ratio(t, ours, peer)
        rd = Ratio(d, ours, best_peer(d, peer_keys) or peer) if d else None
        rows.append((label, r, rd, what(peer)))

    for p in PASSES:
        row(f"conv block + swish + max pooling, {PASS_NAME[p]}, 1 thread", "peers_conv",
            f"conv_maxpool/{p}/maso_fused/threads_1", [f"conv_maxpool/{p}/onednn/threads_1"],
            lambda k: "oneDNN 2.6 (conv + swish post-op, pooling primitive)")
    for p in PASSES:
        row(f"conv block + swish + softmax pooling, {PASS_NAME[p]}, 1 thread", "peers_conv",
            f"conv_softpool/{p}/maso_fused/threads_1",
            [f"conv_softpool/{p}/{k}/threads_1" for k in TORCH_SOFT_SAFE],
            lambda k: "libtorch, best of NCHW / channels-last (" + k.split("/")[2] + ")")
    row("swish forward+backward (learnable β), 16 Mi floats", "peers_swish",
        "swish/forward_backward/maso/16777216", ["swish/forward_backward/torch_swish/16777216"],
        lambda k: "libtorch autograd swish z·σ(e^θ z)")
    row("swish forward+backward, 64 Ki floats (in cache)", "peers_swish",
        "swish/forward_backward/maso/65536", ["swish/forward_backward/torch_silu/65536"],
        lambda k: "libtorch SiLU (fixed β = ½, fused kernels)")
    for threads in (2, 1):
        row(f"largeCNN training step, batch 64, {threads} thread{'s' if threads > 1 else ''}",
            "peers_train", f"large_cnn/train_step/maso_fused/threads_{threads}",
            [f"large_cnn/train_step/{k}/threads_{threads}" for k in LARGE_PEERS],
            lambda k: "libtorch, best of NCHW / channels-last, swish / SiLU (" +
            k.split("/")[2] + ")")
    row("MLP 784-512-512-10 training step, batch 256, 2 threads", "peers_train",
        "mlp/train_step/maso_fused/threads_2",
        [f"mlp/train_step/{k}/threads_2" for k in MLP_PEERS],
        lambda k: "libtorch + OpenBLAS (" + k.split("/")[2] + ")")
    return rows


def headline_table(rows):
    out = ["| workload | maso ÷ peer, peer tuned | maso ÷ peer, peer out of the box | peer |",
           "|---|---|---|---|"]
    for label, r, rd, what in rows:
        out.append(f"| {label} | {r.text()} | {rd.text() if rd else '–'} | {what} |")
    return out


def targets(tuned, race):
    out = ["| target (against the tuned peer) | measured | verdict |", "|---|---|---|"]
    conv = tuned.get("peers_conv")
    if conv:
        for t in (1, 2):
            for p in PASSES:
                r = Ratio(conv, f"conv_maxpool/{p}/maso_fused/threads_{t}",
                          f"conv_maxpool/{p}/onednn/threads_{t}")
                out.append(f"| conv + max pooling ≥ {CONV_ONEDNN_GOAL:g}× oneDNN, {PASS_NAME[p]}, "
                           f"{t} thread{'s' if t > 1 else ''} | {r.text()} | "
                           f"{verdict(r, CONV_ONEDNN_GOAL)} |")
        for t in (1, 2):
            for p in PASSES:
                keys = [f"conv_softpool/{p}/{k}/threads_{t}" for k in TORCH_SOFT_SAFE]
                peer = best_peer(conv, keys)
                r = Ratio(conv, f"conv_softpool/{p}/maso_fused/threads_{t}", peer) if peer else None
                out.append(f"| conv + softmax pooling ≥ {SOFTPOOL_GOAL:g}× libtorch, "
                           f"{PASS_NAME[p]}, {t} thread{'s' if t > 1 else ''} | "
                           f"{r.text() if r else '–'} | {verdict(r, SOFTPOOL_GOAL)} |")
    swish = tuned.get("peers_swish")
    if swish:
        for n in SWISH_SIZES:
            for peer, what in (("torch_swish", "autograd swish, same work"),
                               ("torch_silu", "SiLU, no dθ")):
                r = Ratio(swish, f"swish/forward_backward/maso/{n}",
                          f"swish/forward_backward/{peer}/{n}")
                out.append(f"| swish forward+backward ≥ {SWISH_GOAL:g}× libtorch ({what}), "
                           f"{int(n) // 1024} Ki floats | {r.text()} | {verdict(r, SWISH_GOAL)} |")
    for run in (race or {}).get("runs", []):
        d = run["difference_first_10"]
        ok = "**met**" if d <= RACE_GOAL else "**missed**"
        out.append(f"| race {run['network']}: per-step loss within float rounding for 10 steps "
                   f"(≤ {RACE_GOAL:g} relative) | {d:.1e} | {ok} |")
    return out


def case_table(run, default, prefix, peers_of, variants, unit, peak=True):
    """Rows for every implementation of `prefix` cases: median rate, spread, ratio."""
    out = [f"| case | {unit}, median | spread | maso ÷ it (tuned) | out of the box: {unit} |"
           + (" % of FMA peak |" if peak else ""),
           "|---|---|---|---|---|" + ("---|" if peak else "")]
    for variant in variants:
        ours = f"{prefix}/maso_fused/{variant}" if f"{prefix}/maso_fused/{variant}" in run.rates \
            else f"{prefix}/maso/{variant}"
        for impl in peers_of:
            key = f"{prefix}/{impl}/{variant}"
            if key not in run.rates and key not in run.errors:
                continue
            if key in run.errors:
                out.append(f"| {impl}, {variant} | skipped: {run.errors[key]} | | | |"
                           + (" |" if peak else ""))
                continue
            med = run.median(key)
            sp = run.spread(key)
            ratio = Ratio(run, ours, key).text() if key != ours else "1"
            dm = default.median(key) if default else None
            line = (f"| {impl}, {variant} | {fmt_rate(med)} | {100 * sp:.0f}% | {ratio} | "
                    f"{fmt_rate(dm)} |")
            if peak:
                threads = variant.replace("threads_", "")
                p = peak_of(run, threads)
                flops = flop_rate(run, key)
                line += f" {100 * flops / p:.0f}% |" if p and flops else " – |"
            out.append(line)
    return out


def peak_of(run, threads):
    return run_peak.get((id(run), threads))


run_peak = {}
run_flops = {}


def flop_rate(run, key):
    return run_flops.get((id(run), key))


def read_flops(runs, directory):
    """FLOP/s medians and the in-run peaks, kept beside the rates."""
    for f, run in runs.items():
        with open(os.path.join(directory, f + ".json"), encoding="utf-8") as fh:
            rows = json.load(fh).get("benchmarks", [])
        per = {}
        for row in rows:
            if row.get("run_type") == "aggregate" or row.get("error_occurred"):
                continue
            if "FLOP/s" in row:
                per.setdefault(strip(row.get("run_name", row["name"])), []).append(row["FLOP/s"])
        for key, values in per.items():
            m = statistics.median(values)
            if key.startswith("fma_peak/threads_"):
                run_peak[(id(run), key.split("_")[-1])] = m
            else:
                run_flops[(id(run), key)] = m


def step_ratios(r):
    """maso ÷ libtorch step by step (libtorch's step time over maso's, the steps alternating):
    the median and the 10th–90th percentiles, the spread of the race's ratio."""
    ours, theirs = r.get("maso_step_seconds"), r.get("torch_step_seconds")
    if not ours or not theirs or len(ours) != len(theirs):
        return "–"
    q = sorted(t / m for m, t in zip(ours, theirs) if m > 0)
    if len(q) < 10:
        return f"{statistics.median(q):.2f}× ({q[0]:.2f}–{q[-1]:.2f})"
    dec = statistics.quantiles(q, n=10)
    return f"{statistics.median(q):.2f}× ({dec[0]:.2f}–{dec[-1]:.2f})"


def race_section(race):
    if not race:
        return ["The race was not run."]
    env = race.get("environment", {})
    out = [f"{race['threads']} threads, batch {race['batch']}, SGD (lr 0.01, momentum 0.9, weight "
           "decay 5e-4 except on θ), one shuffled order from one seed for both, the paper's "
           "per-image preprocessing; libtorch's environment: " +
           ", ".join(f"`{k}={v}`" for k, v in env.items()) + ".", "",
           "| network | steps | loss difference, first 10 steps | largest, whole run | "
           "test accuracy maso / libtorch | images/s maso / libtorch | maso ÷ libtorch | "
           "per step: median (10th–90th percentile) |",
           "|---|---|---|---|---|---|---|---|"]
    for r in race.get("runs", []):
        images = r["steps"] * race["batch"]
        ours, theirs = images / r["maso_seconds"], images / r["torch_seconds"]
        steps = str(r["steps"])
        if r.get("epoch_steps") and r["steps"] < r["epoch_steps"]:
            steps += f" of an epoch's {r['epoch_steps']}"
        elif r.get("epoch_steps"):
            steps += " (one epoch)"
        out.append(f"| {r['network']} | {steps} | {r['difference_first_10']:.1e} | "
                   f"{r['difference_all']:.1e} | {100 * r['maso_accuracy']:.2f}% / "
                   f"{100 * r['torch_accuracy']:.2f}% | {ours:.0f} / {theirs:.0f} | "
                   f"{ours / theirs:.2f}× | {step_ratios(r)} |")
    return out


def context_lines(tuned, default):
    any_run = next(iter(tuned.values()))
    c = any_run.context
    out = ["| what | tuned | out of the box |", "|---|---|---|"]
    d = next(iter(default.values())).context if default else {}
    for k in sorted(c):
        if k.startswith("env ") or k.startswith("peer_"):
            out.append(f"| {k} | `{c.get(k, '')}` | `{d.get(k, '–')}` |")
    return out


def microarchitecture(machine):
    """A sentence naming the core from lscpu's family (AMD) — a VM reports "AMD EPYC" only."""
    family = None
    if machine and os.path.exists(machine):
        with open(machine, encoding="utf-8") as f:
            for line in f:
                if line.startswith("CPU family:"):
                    family = line.split(":", 1)[1].strip()
    names = {"23": "AMD Zen 1/2", "25": "AMD Zen 3/4 (Zen 4: a 512-bit FMA as two 256-bit "
             "halves)", "26": "AMD Zen 5 (two full 512-bit FMA pipes)"}
    if family in names:
        return f"CPU family {family}: {names[family]}. "
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tuned", required=True)
    ap.add_argument("--default", required=True)
    ap.add_argument("--race")
    ap.add_argument("--machine", help="a text file: the machine, printed as is")
    ap.add_argument("--command", default="scripts/peers.sh")
    ap.add_argument("--markdown", help="write docs/benchmarks.md here")
    ap.add_argument("--readme", help="replace the headline table in this README")
    ap.add_argument("--notes", help="a Markdown file written by hand: why a target is missed, "
                    "what a figure means; appended after the targets")
    a = ap.parse_args()

    tuned, default = load(a.tuned), load(a.default)
    if not tuned:
        sys.exit(f"no peers_*.json in {a.tuned}")
    read_flops(tuned, a.tuned)
    if default:
        read_flops(default, a.default)
    race = None
    if a.race and os.path.exists(a.race):
        with open(a.race, encoding="utf-8") as f:
            race = json.load(f)
    rows = headline(tuned, default)
    head = headline_table(rows)

    c = next(iter(tuned.values())).context
    md = ["# maso against its peers", "",
          "Measured by `" + a.command + "` (bench/peers/, written by "
          "bench/peers/peer_report.py): every ratio is maso ÷ the peer, both measured in the same "
          "run of the same binary, medians over the repetitions; the range after each ratio goes "
          "from the slowest maso repetition over the fastest peer repetition to the fastest over "
          "the slowest. The peers run **tuned** (glibc's malloc tunables, "
          "`OMP_WAIT_POLICY=passive`, `OPENBLAS_CORETYPE`) and **out of the box** (none of "
          "them), each in a run of its own: glibc reads its tunables when a process starts.", ""]
    if a.machine and os.path.exists(a.machine):
        with open(a.machine, encoding="utf-8") as f:
            md += ["## The machine", "", "```text", f.read().rstrip(), "```", ""]
    md += [microarchitecture(a.machine),
           f"maso's ISA: `{c.get('maso_isa', '?')}`; compiler: `{c.get('compiler', '?')}`; "
           f"run on {c.get('date', '?')} on `{c.get('host_name', '?')}`.", "",
           "## Headline", ""] + head + ["", "## Targets", ""] + targets(tuned, race)
    if a.notes and os.path.exists(a.notes):
        with open(a.notes, encoding="utf-8") as f:
            md += ["", f.read().rstrip()]
    md += ["", "## The peers' settings", "",
           "What each binary put in its context (the tuned run and the out-of-the-box run):", ""]
    md += context_lines(tuned, default)

    conv, swish, train = tuned.get("peers_conv"), tuned.get("peers_swish"), tuned.get("peers_train")
    dconv, dswish, dtrain = default.get("peers_conv"), default.get("peers_swish"), \
        default.get("peers_train")
    if conv:
        md += ["", "## The conv block (`peers_conv_bench`)", "",
               "N = 32, 96×32×32 → conv 3×3 (96, bias) → swish → 2×2 pooling; images/s; "
               "% of FMA peak counts the convolution's FLOP only (forward, or forward, dW and dx).",
               ""]
        md += ["", "**the convolution alone, forward** (where a gap in the block lies: in the "
               "product or in what follows it)", ""]
        md += case_table(conv, dconv, "conv_alone/forward", ("maso_fused", "onednn"),
                         ("threads_1", "threads_2"), "images/s")
        for block, impls in (("conv_maxpool", ("maso_fused", "maso_none", "onednn") + TORCH_MAX),
                             ("conv_softpool", ("maso_fused", "maso_none") + TORCH_SOFT_SAFE
                              + TORCH_SOFT_FAST)):
            for p in PASSES:
                md += ["", f"**{block}, {PASS_NAME[p]}**", ""]
                md += case_table(conv, dconv, f"{block}/{p}", impls, ("threads_1", "threads_2"),
                                 "images/s")
    if swish:
        md += ["", "## Swish and a dense layer (`peers_swish_bench`)", "",
               "Swish alone on n floats (elements/s, 1 thread), and dense 784→512 + swish, "
               "batch 256 (images/s).", ""]
        for p in PASSES:
            md += ["", f"**swish, {PASS_NAME[p]}**", ""]
            md += case_table(swish, dswish, f"swish/{p}", ("maso",) + SWISH_PEERS, SWISH_SIZES,
                             "elements/s", peak=False)
        for p in PASSES:
            md += ["", f"**dense + swish, {PASS_NAME[p]}**", ""]
            md += case_table(swish, dswish, f"dense_swish/{p}",
                             ("maso_fused", "maso_none", "torch_swish_layer", "torch_silu"),
                             ("threads_1", "threads_2"), "images/s")
    if train:
        md += ["", "## Training steps (`peers_train_bench`)", "",
               "Zero grad, forward, backward, SGD; images/s; % of FMA peak counts the "
               "convolutions' or dense layers' FLOP only.", ""]
        for net, impls in (("large_cnn", ("maso_fused", "maso_none") + LARGE_PEERS),
                           ("mlp", ("maso_fused", "maso_none") + MLP_PEERS)):
            md += ["", f"**{net}**", ""]
            md += case_table(train, dtrain, f"{net}/train_step", impls, ("threads_2", "threads_1"),
                             "images/s")
    md += ["", "## The training race (`peers_race`)", ""] + race_section(race)
    text = "\n".join(md) + "\n"

    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    if a.readme:
        with open(a.readme, encoding="utf-8") as f:
            readme = f.read()
        if README_BEGIN in readme and README_END in readme:
            before, rest = readme.split(README_BEGIN, 1)
            _, after = rest.split(README_END, 1)
            at_start = ""
            if a.machine and os.path.exists(a.machine):
                with open(a.machine, encoding="utf-8") as f:
                    for line in f:
                        if line.startswith("load average at the start:"):
                            at_start = ", load average " + line.split(":", 1)[1].split()[0] + \
                                " at the start"
            caption = (f"Measured {c.get('date', '?')[:10]} by `{a.command}`: "
                       f"{microarchitecture(a.machine).strip() or 'CPU: see docs/benchmarks.md.'} "
                       f"2 threads where named, else 1{at_start}; medians, in brackets the range over "
                       "the repetitions.")
            readme = (before + README_BEGIN + "\n" + caption + "\n\n" + "\n".join(head) + "\n" +
                      README_END + after)
            with open(a.readme, "w", encoding="utf-8") as f:
                f.write(readme)
        else:
            print(f"{a.readme} has no {README_BEGIN} … {README_END} block: not changed",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
