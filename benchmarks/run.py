"""The benchmark suite: lineprof against line_profiler, per Python version.

    python3 benchmarks/run.py [--pythons 3.8,3.12] [--runs 5] [--quick] [--markdown FILE]

For each Python (by default every one of 3.8-3.15 that pyenv or PATH has; 3.14
and 3.15 are in the Debian sid chroot of .ci/sid-chroot, so run it there for
them: `.ci/sid-chroot run python3.15 benchmarks/run.py --pythons 3.14,3.15`) it
keeps two virtual environments under .bench/, because both packages install a
top-level `kernprof` module: one with the newest line_profiler from PyPI, one
with lineprof built from this checkout (reinstalled on every run). Every
workload in benchmarks/workloads then runs three ways, interleaved round after
round: plain (`python w.py`), line_profiler's `kernprof -l`, lineprof's
`kernprof -l`. The first --warmup rounds are not counted. Each workload times
its own profiled part and prints it, so interpreter start-up, kernprof's set-up
and the writing of the .lprof file are not measured; the total the report shows
is read back from the .lprof file with each profiler's own `load_stats`.

Figures, each as median (min-max) over the counted rounds, from the runs of
one round taken together:
  slowdown        profiled / plain time of the workload's timed part
  overhead ratio  (lineprof - plain) / (line_profiler - plain)
  accuracy        total time the report shows for the profiled functions /
                  the plain time of those functions
  ns/event        workload 1: added time per line event (events: the report's hits)
  helper          workload 6: the unprofiled helper's time / its plain time
"""
import argparse
import glob
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKLOADS = os.path.join(HERE, "workloads")
VERSIONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
PROFILERS = ("line_profiler", "lineprof")
MODES = ("plain",) + PROFILERS
LINE_COST_WORKLOAD = "w1_tight_loop"
HELPER_WORKLOAD = "w6_unprofiled_helper"
QUICK = {"runs": 3, "warmup": 1, "scale": 0.25}
FULL = {"runs": 5, "warmup": 1, "scale": 1.0}

# Run in a profiler's environment: the total seconds and hits the report of
# each .lprof file shows, over all of its functions, with that profiler's reader.
READ_STATS = """
import importlib, json, sys
load_stats = importlib.import_module(sys.argv[1]).load_stats
totals = {}
for path in sys.argv[2:]:
    stats = load_stats(path)
    rows = [row for rows in stats.timings.values() for row in rows]
    totals[path] = {"reported": sum(row[2] for row in rows) * stats.unit,
                    "hits": sum(row[1] for row in rows)}
print(json.dumps(totals))
"""

# Neither profiler's kernprof may come from a PYTHONPATH pointing at a checkout.
CHILD_ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def find_python(version):
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python")),
                   key=lambda path: [int(part) for part in
                                     path.split(os.sep)[-3].split(".") if part.isdigit()])
    return found[-1] if found else shutil.which("python" + version)


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENVIRONMENT,
                            **kwargs)
    if result.returncode:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(command), result.stdout,
                                                  result.stderr))
    return result.stdout


def copy_checkout(folder, committed):
    """The sources to build lineprof from: the working tree, or its last commit.
    A copy, because pip builds in the source tree and the checkout is shared
    with people building and testing in it."""
    target = os.path.join(folder, "lineprof-source")
    if committed:
        archive = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", "HEAD"],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as stream:
            stream.extractall(target)
    else:
        shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(
            ".git", ".bench", ".nox", ".pytest_cache", "build", "dist", "*.egg-info",
            "__pycache__", "*.so", "*.lprof"))
    return target


def prepare_environment(python, version, profiler, source, cache, install):
    """The venv of one profiler for one Python; returns its python."""
    folder = os.path.join(cache, "%s-%s" % (profiler, version))
    venv_python = os.path.join(folder, "bin", "python")
    if not os.path.exists(venv_python):
        run([python, "-m", "venv", folder])
        install = True
    if install:
        pip = [venv_python, "-m", "pip", "install", "-q"]
        if profiler == "lineprof":
            run(pip + ["--force-reinstall", "--no-deps", source])
        else:
            run(pip + ["--upgrade", "line_profiler"])
    return venv_python


def package_version(venv_python, profiler):
    return run([venv_python, "-c", "import %s; print(%s.__version__)" % (profiler, profiler)],
               cwd=tempfile.gettempdir()).strip()


def platform_version(python):
    return run([python, "-c", "import platform; print(platform.python_version())"]).strip()


def run_workload(python, mode, workload, scale, outfile, folder):
    """One run; returns the figures the workload printed."""
    script = os.path.join(WORKLOADS, workload + ".py")
    if mode == "plain":
        command = [python, script, repr(scale)]
    else:
        command = [python, "-m", "kernprof", "-l", "-q", "-o", outfile, script, repr(scale)]
    # Not run from the checkout, whose kernprof.py would shadow the installed one.
    output = run(command, cwd=folder, timeout=900)
    lines = [line for line in output.splitlines() if line.startswith("BENCH ")]
    if not lines:
        raise RuntimeError("%s printed no BENCH line:\n%s" % (" ".join(command), output))
    return json.loads(lines[-1][len("BENCH "):])


def read_reports(venv_python, profiler, paths, folder):
    return json.loads(run([venv_python, "-c", READ_STATS, profiler] + paths, cwd=folder))


def measure_workload(pythons, workload, options, folder):
    """Interleaved rounds of the three modes; returns the counted rounds, each
    {mode: figures} with the profilers' figures joined by their reports'."""
    rounds = []
    for index in range(options.warmup + options.runs):
        sample = {}
        for mode in MODES:
            outfile = os.path.join(folder, "%s-%s-%d.lprof" % (workload, mode, index))
            sample[mode] = run_workload(pythons[mode], mode, workload, options.scale,
                                        outfile, folder)
            sample[mode]["outfile"] = outfile
        if index >= options.warmup:
            rounds.append(sample)
    for profiler in PROFILERS:
        paths = [sample[profiler]["outfile"] for sample in rounds]
        reports = read_reports(pythons[profiler], profiler, paths, folder)
        for sample in rounds:
            sample[profiler].update(reports[sample[profiler]["outfile"]])
    return rounds


def spread(values):
    values = sorted(values)
    return values[0], statistics.median(values), values[-1]


def summarize(workload, rounds):
    """The figures of one workload, each (min, median, max) over the rounds."""
    plain = [sample["plain"] for sample in rounds]
    figures = {"plain s": spread(run["elapsed"] for run in plain)}
    for profiler in PROFILERS:
        pairs = [(sample[profiler], sample["plain"]) for sample in rounds]
        figures["slowdown " + profiler] = spread(run["elapsed"] / base["elapsed"]
                                                 for run, base in pairs)
        figures["accuracy " + profiler] = spread(
            run["reported"] / base.get("profiled", base["elapsed"]) for run, base in pairs)
        if workload == LINE_COST_WORKLOAD:
            figures["ns/event " + profiler] = spread(
                (run["elapsed"] - base["elapsed"]) / run["hits"] * 1e9 for run, base in pairs)
        if workload == HELPER_WORKLOAD:
            figures["helper " + profiler] = spread(run["helper"] / base["helper"]
                                                   for run, base in pairs)
    # Where line_profiler adds next to nothing the ratio is noise over noise.
    if figures["slowdown line_profiler"][1] >= 1.1:
        figures["overhead ratio"] = spread(
            (sample["lineprof"]["elapsed"] - sample["plain"]["elapsed"])
            / (sample["line_profiler"]["elapsed"] - sample["plain"]["elapsed"])
            for sample in rounds)
    return figures


def cell(triple, digits):
    if triple is None:
        return "–"
    low, median, high = triple
    return "%.*f (%.*f–%.*f)" % (digits, median, digits, low, digits, high)


def table(header, rows):
    """Markdown, padded so that it also reads as a table in a terminal."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(row) for row in rows]) + "\n"


def workload_table(results):
    header = ["Python", "workload", "plain s", "slowdown line_profiler", "slowdown lineprof",
              "overhead ratio", "accuracy line_profiler", "accuracy lineprof"]
    rows = []
    for version, by_workload in results.items():
        for workload, figures in by_workload.items():
            rows.append([version, workload, cell(figures["plain s"], 3)]
                        + [cell(figures.get(name), digits) for name, digits in (
                            ("slowdown line_profiler", 1), ("slowdown lineprof", 2),
                            ("overhead ratio", 2), ("accuracy line_profiler", 2),
                            ("accuracy lineprof", 2))])
    return table(header, rows)


def per_python_table(results):
    header = ["Python", "ns/event line_profiler (w1)", "ns/event lineprof (w1)",
              "helper line_profiler (w6)", "helper lineprof (w6)"]
    rows = []
    for version, by_workload in results.items():
        line_cost = by_workload.get(LINE_COST_WORKLOAD, {})
        helper = by_workload.get(HELPER_WORKLOAD, {})
        rows.append([version, cell(line_cost.get("ns/event line_profiler"), 0),
                     cell(line_cost.get("ns/event lineprof"), 0),
                     cell(helper.get("helper line_profiler"), 2),
                     cell(helper.get("helper lineprof"), 2)])
    return table(header, rows)


def targets(version):
    """Issue 3's targets for one Python: (name, workloads, figure, limit, digits)."""
    modern = tuple(map(int, version.split("."))) >= (3, 12)
    rules = [("overhead ratio ≤ 0.25 (w1–w5, w8)",
              ("w1_tight_loop", "w2_many_calls", "w3_recursion", "w4_suspensions", "w5_mixed",
               "w8_threads"), "overhead ratio", 0.25, 2),
             ("ns per line event ≤ 30 on 3.12+, ≤ 40 before", (LINE_COST_WORKLOAD,),
              "ns/event lineprof", 30 if modern else 40, 1),
             ("w7 slowdown ≤ 1.05 on 3.12+, ≤ 1.3 before", ("w7_mostly_unprofiled",),
              "slowdown lineprof", 1.05 if modern else 1.3, 2),
             ("w1 accuracy ≤ 1.5", (LINE_COST_WORKLOAD,), "accuracy lineprof", 1.5, 2)]
    if modern:
        rules.append(("w6 helper ≤ 1.1 on 3.12+", (HELPER_WORKLOAD,), "helper lineprof", 1.1, 2))
    return rules


def targets_table(results):
    """Each target per Python: the worst median over its workloads, met or not."""
    names = []
    verdicts = {}
    for version, by_workload in results.items():
        for name, workloads, figure, limit, digits in targets(version):
            if name not in names:
                names.append(name)
            medians = [(by_workload[w][figure][1], w) for w in workloads
                       if figure in by_workload.get(w, {})]
            if medians:
                worst, workload = max(medians)
                where = " (%s)" % workload[:2] if len(workloads) > 1 else ""
                verdicts[name, version] = "%s %.*f%s" % (
                    "met" if worst <= limit else "NOT met", digits, worst, where)
    return table(["target (medians)"] + list(results),
                 [[name] + [verdicts.get((name, version), "–") for version in results]
                  for name in names])


def report(results, about):
    return "\n".join([
        about,
        "Per workload:", "", workload_table(results),
        "Per Python:", "", per_python_table(results),
        "Targets of issue 3:", "", targets_table(results)])


def checkout_revision(committed):
    try:
        commit = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).strip()
        changed = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    except (OSError, RuntimeError):
        return "unknown"
    if committed or not changed.strip():
        return "commit " + commit
    return "commit %s and the working tree's changes" % commit


def cpu_model():
    with open("/proc/cpuinfo") as stream:
        for line in stream:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", help="comma-separated versions, e.g. 3.8,3.12 "
                        "(default: every one of %s found)" % ", ".join(VERSIONS))
    parser.add_argument("--workloads", help="comma-separated name prefixes, e.g. w1,w7 "
                        "(default: all)")
    parser.add_argument("--runs", type=int, help="counted rounds (default %d)" % FULL["runs"])
    parser.add_argument("--warmup", type=int,
                        help="rounds run first and not counted (default %d)" % FULL["warmup"])
    parser.add_argument("--scale", type=float, help="multiplies every workload's size "
                        "(default %g)" % FULL["scale"])
    parser.add_argument("--quick", action="store_true",
                        help="a fast check: --runs %(runs)d --warmup %(warmup)d --scale %(scale)g"
                        % QUICK)
    parser.add_argument("--cache", default=os.path.join(REPO, ".bench"),
                        help="where the environments live (default: .bench in the checkout)")
    parser.add_argument("--committed", action="store_true",
                        help="build lineprof from the checkout's last commit, leaving out "
                        "uncommitted changes (default: the working tree)")
    parser.add_argument("--no-install", action="store_true",
                        help="use existing environments as they are: no build, no upgrade")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    options = parser.parse_args(argv)
    for name, value in (QUICK if options.quick else FULL).items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.runs < 1 or options.warmup < 0 or options.scale <= 0:
        parser.error("--runs must be at least 1, --warmup at least 0, --scale positive")
    return options


def main(argv=None):
    options = parse_arguments(argv)
    started = time.time()
    workloads = sorted(name[:-3] for name in os.listdir(WORKLOADS)
                       if name.startswith("w") and name.endswith(".py"))
    if options.workloads:
        workloads = [name for name in workloads
                     if name.startswith(tuple(options.workloads.split(",")))]
    versions = options.pythons.split(",") if options.pythons else VERSIONS
    interpreters = {version: find_python(version) for version in versions}
    for version in versions:
        if interpreters[version] is None:
            print("Python %s: not found, skipped" % version, file=sys.stderr)
            if options.pythons:
                return 1
    interpreters = {v: path for v, path in interpreters.items() if path}

    results, described = {}, []
    with tempfile.TemporaryDirectory(prefix="lineprof-bench-") as folder:
        revision = checkout_revision(options.committed)
        source = copy_checkout(folder, options.committed)
        for version, python in interpreters.items():
            pythons = {profiler: prepare_environment(python, version, profiler, source,
                                                     options.cache, not options.no_install)
                       for profiler in PROFILERS}
            # A venv's python runs some programs measurably faster than the
            # base one (site set-up, memory layout): plain runs in a venv too.
            pythons["plain"] = pythons["lineprof"]
            described.append("%s (line_profiler %s, lineprof %s)" % (
                platform_version(python), package_version(pythons["line_profiler"],
                                                          "line_profiler"),
                package_version(pythons["lineprof"], "lineprof")))
            print("Python " + described[-1], flush=True)
            results[version] = {}
            for workload in workloads:
                rounds = measure_workload(pythons, workload, options, folder)
                results[version][workload] = figures = summarize(workload, rounds)
                print("  %-22s plain %s s, slowdown line_profiler %s, lineprof %s" % (
                    workload, cell(figures["plain s"], 3),
                    cell(figures["slowdown line_profiler"], 1),
                    cell(figures["slowdown lineprof"], 2)), flush=True)

    command = " ".join(["python3 benchmarks/run.py"] + (sys.argv[1:] if argv is None else argv))
    about = "\n".join([
        "Command: `%s` (%d counted rounds after %d warm-up, scale %g; %.0f s)"
        % (command, options.runs, options.warmup, options.scale, time.time() - started),
        "Machine: %s, %d cores, Linux %s" % (cpu_model(), os.cpu_count(), platform.release()),
        "lineprof: built from " + revision,
        "Pythons: " + "; ".join(described), ""])
    text = report(results, about)
    print("\n" + text)
    if options.markdown:
        with open(options.markdown, "w", encoding="utf-8") as stream:
            stream.write(text)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as error:       # a build, an install or a workload failed
        sys.exit("benchmarks/run.py: %s" % error)
