"""The benchmark suite: lineprof against line_profiler, per Python version.

    python3 benchmarks/run.py [--pythons 3.8,3.11,3.12,3.13] [--runs 5] [--markdown FILE]

For each Python it makes two environments under .bench/ (kernprof is a module
of both packages, so they cannot share one): one with the newest line_profiler
from PyPI, one with lineprof built from this checkout. Then every workload in
benchmarks/workloads runs three ways, interleaved round after round (plain,
line_profiler's `kernprof -l`, lineprof's `kernprof -l`), one warm-up round
and --runs counted ones. Each workload times its own profiled part and prints
it, so interpreter start-up and file writing are not measured.

Figures, per workload, as min / median / max over the rounds (each round's
runs are paired):
  slowdown        profiled / plain time, for each profiler
  overhead ratio  (lineprof - plain) / (line_profiler - plain)
  ns per event    added time per line event, workload 1 (events: the report's hits)
  accuracy        total time the report shows for the profiled functions / plain time
  helper          workload 6: the unprofiled helper's time / its plain time
"""
import argparse
import glob
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKLOADS = os.path.join(HERE, "workloads")
CACHE = os.path.join(REPO, ".bench")
MODES = ("plain", "line_profiler", "lineprof")

# Reads a .lprof file of either profiler (lineprof reads both formats):
# prints the total seconds and the total hits of all profiled functions.
READ_PROFILE = """
import sys
from lineprof import load_stats
stats = load_stats(sys.argv[1])
rows = [row for rows in stats.timings.values() for row in rows]
print(sum(row[2] for row in rows) * stats.unit, sum(row[1] for row in rows))
"""


def find_python(version):
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python")))
    if found:
        return found[-1]
    for name in ("python" + version,):
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and "shims" not in folder:
                return candidate
    return None


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def make_environment(python, version, package):
    """A venv under .bench with one profiler installed; returns its python."""
    folder = os.path.join(CACHE, "%s-%s" % (package, version))
    venv_python = os.path.join(folder, "bin", "python")
    if not os.path.exists(venv_python):
        run([python, "-m", "venv", folder])
    if package == "lineprof":
        run([venv_python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", REPO])
    else:
        run([venv_python, "-m", "pip", "install", "-q", "--upgrade", "line_profiler"])
    return venv_python


def run_workload(python, workload, mode, folder):
    """Runs one workload once; returns (elapsed, extra fields, profile file)."""
    script = os.path.join(WORKLOADS, workload)
    outfile = os.path.join(folder, "%s-%s.lprof" % (workload, mode))
    if mode == "plain":
        command = [python, script]
    else:
        command = [python, "-m", "kernprof", "-l", "-q", "-o", outfile, script]
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError("%s (%s) failed:\n%s%s" % (workload, mode, result.stdout, result.stderr))
    fields = dict(item.split("=", 1) for item in lines[-1].split()[1:])
    values = {key: float(value) for key, value in fields.items()}
    return values, (outfile if mode != "plain" else None)


def read_profile(reader_python, path):
    # Run outside the checkout, whose lineprof/ would shadow the installed one.
    total, hits = run([reader_python, "-c", READ_PROFILE, path],
                      cwd=os.path.dirname(path)).stdout.split()
    return float(total), int(hits)


def spread(values):
    values = sorted(values)
    return values[0], statistics.median(values), values[-1]


def measure(version, python, runs, workloads):
    pythons = {"plain": python,
               "line_profiler": make_environment(python, version, "line_profiler"),
               "lineprof": make_environment(python, version, "lineprof")}
    reader = pythons["lineprof"]
    figures = {}
    with tempfile.TemporaryDirectory(prefix="lineprof-bench-") as folder:
        for workload in workloads:
            rounds = []
            for round_index in range(runs + 1):        # the first round warms up
                sample = {}
                for mode in MODES:
                    values, outfile = run_workload(pythons[mode], workload, mode, folder)
                    sample[mode] = values
                    if outfile:
                        sample[mode]["reported"], sample[mode]["hits"] = \
                            read_profile(reader, outfile)
                if round_index:
                    rounds.append(sample)
            figures[workload] = summarize(rounds, workload.startswith("w1_"))
            print_row(version, workload, figures[workload], flush=True)
    return figures


def summarize(rounds, is_line_cost_workload):
    """The figures of one workload, each as (min, median, max) over the rounds;
    ns per line event only for the workload made of line events alone."""
    result = {}
    plain = [r["plain"]["elapsed"] for r in rounds]
    for mode in ("line_profiler", "lineprof"):
        elapsed = [r[mode]["elapsed"] for r in rounds]
        result["slowdown " + mode] = spread([e / p for e, p in zip(elapsed, plain)])
        result["accuracy " + mode] = spread([r[mode]["reported"] / r["plain"]["elapsed"]
                                             for r in rounds])
        if is_line_cost_workload:
            result["ns/event " + mode] = spread([(r[mode]["elapsed"] - r["plain"]["elapsed"])
                                                 / r[mode]["hits"] * 1e9 for r in rounds])
        if "helper" in rounds[0]["plain"]:
            result["helper " + mode] = spread([r[mode]["helper"] / r["plain"]["helper"]
                                               for r in rounds])
    # The ratio says nothing where line_profiler adds next to nothing (w6, w7).
    if result["slowdown line_profiler"][1] > 1.05:
        result["overhead ratio"] = spread([
            (r["lineprof"]["elapsed"] - r["plain"]["elapsed"])
            / (r["line_profiler"]["elapsed"] - r["plain"]["elapsed"]) for r in rounds])
    result["plain seconds"] = spread(plain)
    return result


def fmt(triple, digits=2):
    if triple is None:
        return "–"
    low, median, high = triple
    return "%.*f (%.*f–%.*f)" % (digits, median, digits, low, digits, high)


COLUMNS = [("slowdown line_profiler", 1), ("slowdown lineprof", 2), ("overhead ratio", 2),
           ("ns/event line_profiler", 0), ("ns/event lineprof", 0),
           ("accuracy line_profiler", 2), ("accuracy lineprof", 2)]


def print_row(version, workload, figures, flush=False):
    cells = ["%-6s %-26s" % (version, workload)]
    for name, digits in COLUMNS:
        cells.append("%s=%s" % (name, fmt(figures.get(name), digits)))
    for mode in ("line_profiler", "lineprof"):
        if "helper " + mode in figures:
            cells.append("helper %s=%s" % (mode, fmt(figures["helper " + mode])))
    print("  ".join(cells), flush=flush)


def markdown(results):
    header = ["Python", "workload", "plain s", "slowdown line_profiler", "slowdown lineprof",
              "overhead ratio", "ns/event line_profiler", "ns/event lineprof",
              "accuracy line_profiler", "accuracy lineprof", "helper (w6) line_profiler",
              "helper (w6) lineprof"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for version, figures_by_workload in results.items():
        for workload, figures in figures_by_workload.items():
            cells = [version, workload.replace(".py", ""), fmt(figures["plain seconds"], 3)]
            cells += [fmt(figures.get(name), digits) for name, digits in COLUMNS]
            for mode in ("line_profiler", "lineprof"):
                cells.append(fmt(figures["helper " + mode]) if "helper " + mode in figures else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine():
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as stream:
            model = next(line.split(":", 1)[1].strip() for line in stream
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s, %d cores, %s" % (model, os.cpu_count(), platform.platform())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", default="3.8,3.11,3.12,3.13",
                        help="comma-separated versions (default: 3.8,3.11,3.12,3.13)")
    parser.add_argument("--runs", type=int, default=5, help="counted rounds (default 5)")
    parser.add_argument("--workloads", default="",
                        help="comma-separated name prefixes, e.g. w1,w7 (default: all)")
    parser.add_argument("--markdown", help="also write the table as markdown to this file")
    options = parser.parse_args()
    workloads = sorted(name for name in os.listdir(WORKLOADS)
                       if name.startswith("w") and name.endswith(".py"))
    if options.workloads:
        prefixes = tuple(options.workloads.split(","))
        workloads = [name for name in workloads if name.startswith(prefixes)]
    print("machine:", machine())
    results = {}
    for version in options.pythons.split(","):
        python = find_python(version)
        if python is None:
            print("Python %s: not found, skipped" % version)
            continue
        results[version] = measure(version, python, options.runs, workloads)
    if options.markdown:
        with open(options.markdown, "w") as stream:
            stream.write("machine: %s\n\n" % machine())
            stream.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
