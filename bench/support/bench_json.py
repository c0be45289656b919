"""Reading Google Benchmark JSON output for maso's ratio scripts (bench/*_ratios.py).

Every ratio script reads one file written by --benchmark_format=json
--benchmark_out=FILE and needs the same things from it: the context block, the
repetition count, the median and cv aggregate rows (present with
--benchmark_repetitions > 1), and the iteration rows of each run. read() gathers
them; median_rows() gives one row per run: the median aggregate row when there
is one, otherwise the median of the given fields over the run's iteration rows.
Only standard-library Python.
"""

import json
import statistics


class Run:
    """One benchmark binary's output.

    context     the JSON "context" block (maso_isa, maso_threads, compiler, ...)
    repetitions the largest "repetitions" of any row (1 without repetitions)
    medians     run name -> the "median" aggregate row
    cvs         run name -> the "cv" aggregate row
    iterations  run name -> list of iteration rows, in file order
    Rows with error_occurred are left out of all three maps.
    """

    def __init__(self, context, repetitions, medians, cvs, iterations):
        self.context = context
        self.repetitions = repetitions
        self.medians = medians
        self.cvs = cvs
        self.iterations = iterations


def read(path):
    """Reads a benchmark JSON file. Raises OSError, ValueError or KeyError if unreadable."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    medians, cvs, iterations = {}, {}, {}
    repetitions = 1
    for row in data.get("benchmarks", []):
        if row.get("error_occurred"):
            continue
        repetitions = max(repetitions, int(row.get("repetitions", 1)))
        run = row.get("run_name", row["name"])
        if row.get("run_type") == "aggregate":
            if row.get("aggregate_name") == "median":
                medians[run] = row
            elif row.get("aggregate_name") == "cv":
                cvs[run] = row
        else:
            iterations.setdefault(run, []).append(row)
    return Run(data.get("context", {}), repetitions, medians, cvs, iterations)


def median_rows(run, fields):
    """Run name -> {field: value}: the median aggregate row where there is one,
    else the median of each of `fields` over the run's iteration rows."""
    rows = dict(run.medians)
    for name, reps in run.iterations.items():
        if name in rows:
            continue
        values = {}
        for key in fields:
            found = [r[key] for r in reps if key in r]
            if found:
                values[key] = statistics.median(found)
        rows[name] = values
    return rows


def paired_ratios(run, a, b, key="items_per_second"):
    """Repetition i of run a over repetition i of run b, for every i both have: the spread
    of a ratio over the repetitions (each pair ran within one binary run, seconds or
    minutes apart with random interleaving)."""
    ra = [r[key] for r in run.iterations.get(a, []) if key in r]
    rb = [r[key] for r in run.iterations.get(b, []) if key in r]
    return [x / y for x, y in zip(ra, rb) if y]


def fmt_spread(ratios):
    """'min–max' of paired_ratios, or 'n/a' with fewer than two."""
    if len(ratios) < 2:
        return "n/a"
    return f"{min(ratios):.3f}–{max(ratios):.3f}"


def header(context, keys=("maso_isa", "maso_threads", "compiler", "host_name", "date")):
    """The context line the scripts print: ISA, threads, compiler, host, date."""
    labels = {"maso_isa": "ISA", "maso_threads": "threads", "compiler": "compiler",
              "host_name": "host", "date": "date"}
    defaults = {"maso_isa": "unknown", "compiler": "unknown"}
    return ", ".join(f"{labels.get(k, k)}: {context.get(k, defaults.get(k, '?'))}" for k in keys)
