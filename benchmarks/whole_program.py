"""Whole programs, every function profiled: `kernprof -l -p FILE` on
pyperformance's programs, plain / line_profiler / lineprof (issue 15).

    python3 benchmarks/whole_program.py [--pythons 3.11,3.12] [--rounds 5]
                                        [--programs chaos,go] [--markdown FILE]

The programs come from the `pyperformance` package, downloaded from the
package index into the cache folder (.bench/ by default) when the benchmark
runs; they are never kept in the repository. Each runs in its own folder
(pyflate reads its data there, regex_compile imports its neighbours) with a
stand-in `pyperf` module on its path: `Runner.bench_func(name, func, *args)`
calls func LOOPS times and `bench_time_func(name, func, *args)` calls
func(LOOPS, *args), and the seconds that took (measured inside the process,
so start-up, kernprof's set-up and writing the profile are not counted) are
written to a file. LOOPS is chosen per program from a first plain run, so
that the plain run takes about --seconds (default 0.2): some programs' single
loop takes a millisecond, which no ratio can be read from. The modes run one after another, round after round:
  plain          python run_benchmark.py
  line_profiler  kernprof -l -p run_benchmark.py run_benchmark.py (its venv)
  lineprof       the same with lineprof's kernprof (its venv, this checkout)
  floor          null_tool/null_tool.py run_benchmark.py: the events lineprof
                 asks for, on the same code, with handlers written in C that
                 return at once (sys.monitoring callbacks on 3.12+, a trace
                 function before); what any line profiler built on them pays
                 CPython before doing any work of its own
The venvs are benchmarks/run.py's (.bench/<profiler>-<version>); the null
tool is compiled for each Python into .bench/null_tool-<version>.

Figures per program, medians over the rounds: the slowdown of each tool
(its time / plain, the floor's too), and lineprof's accuracy: the total its report gives the
program's top-level profiled function (the benchmark's own file's function
with the largest total) / plain's time. Every run's report must hold hits for
the program's functions: the names of the functions with hits are compared
between the two tools, and a difference is printed.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import (copy_checkout, find_python, platform_version,  # noqa: E402
                 prepare_environment, run)

PROGRAMS = ("chaos", "deepcopy", "deltablue", "fannkuch", "float", "go", "hexiom",
            "json_dumps", "nbody", "nqueens", "pyflate", "raytrace", "regex_compile",
            "richards", "spectral_norm")
MODES = ("plain", "line_profiler", "lineprof", "floor")
TOOLS = ("line_profiler", "lineprof")

STAND_IN_PYPERF = '''\
"""What pyperformance's programs use of pyperf: one timed call, written to
$WHOLE_PROGRAM_TIMES (benchmarks/whole_program.py)."""
import argparse
import os
import shutil
import time

perf_counter = time.perf_counter


class Runner:
    def __init__(self, *args, add_cmdline_args=None, **kwargs):
        self.argparser = argparse.ArgumentParser()
        self.metadata = {}
        self._args = None

    def parse_args(self, args=None):
        if self._args is None:
            self._args = self.argparser.parse_known_args([])[0]
        return self._args

    def _write(self, seconds):
        with open(os.environ["WHOLE_PROGRAM_TIMES"], "a") as stream:
            stream.write("%r\\n" % seconds)

    def bench_func(self, name, func, *args, inner_loops=None):
        self.parse_args()
        loops = int(os.environ.get("WHOLE_PROGRAM_LOOPS", "1"))
        start = time.perf_counter()
        for _ in range(loops):
            func(*args)
        self._write(time.perf_counter() - start)

    def bench_time_func(self, name, func, *args, inner_loops=None):
        self.parse_args()
        self._write(func(int(os.environ.get("WHOLE_PROGRAM_LOOPS", "1")), *args))
'''

# Run in a tool's venv: {path: {function name: (total seconds, hits)}} for
# the functions of the program's own file.
READ_FUNCTIONS = """
import importlib, json, os, sys
load_stats = importlib.import_module(sys.argv[1]).load_stats
result = {}
for path in sys.argv[3:]:
    stats = load_stats(path)
    functions = {}
    for (filename, _, name), rows in stats.timings.items():
        if os.path.basename(filename) == sys.argv[2]:
            functions[name] = (sum(row[2] for row in rows) * stats.unit,
                               sum(row[1] for row in rows))
    result[path] = functions
print(json.dumps(result))
"""


def fetch_programs(cache, folder, names):
    """The programs' folders, extracted from the pyperformance wheel."""
    wheels = sorted(glob.glob(os.path.join(cache, "pyperformance-*.whl")))
    if not wheels:
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "-d", cache, "pyperformance"])
        wheels = sorted(glob.glob(os.path.join(cache, "pyperformance-*.whl")))
    prefix = "pyperformance/data-files/benchmarks/"
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for member in wheel.namelist():
            parts = member[len(prefix):].split("/")
            if member.startswith(prefix) and parts[0][len("bm_"):] in names:
                wheel.extract(member, folder)
    with open(os.path.join(folder, "pyperf.py"), "w") as stream:
        stream.write(STAND_IN_PYPERF)
    return {name: os.path.join(folder, prefix, "bm_" + name) for name in names}, \
        os.path.basename(wheels[-1])


def build_null_tool(python, version, cache):
    """The folder of null_tool.py and its extension built for python."""
    folder = os.path.join(cache, "null_tool-" + version)
    os.makedirs(folder, exist_ok=True)
    include, suffix = json.loads(run([python, "-c", "import json, sysconfig; print(json.dumps("
                                      "[sysconfig.get_paths()['include'], "
                                      "sysconfig.get_config_var('EXT_SUFFIX')]))"]))
    run(["cc", "-O2", "-fPIC", "-shared", "-I", include,
         os.path.join(HERE, "null_tool", "_nulltool.c"),
         "-o", os.path.join(folder, "_nulltool" + suffix)])
    shutil.copy(os.path.join(HERE, "null_tool", "null_tool.py"), folder)
    return folder


def run_program(python, mode, program_folder, times_file, outfile, stand_in, loops,
                null_tool=None):
    if os.path.exists(times_file):
        os.unlink(times_file)
    script = "run_benchmark.py"
    command = [python, script]
    if mode == "floor":
        command = [python, null_tool, script]
    elif mode != "plain":
        command = [python, "-m", "kernprof", "-l", "-q", "-p", script, "-o", outfile, script]
    environment = dict(os.environ, WHOLE_PROGRAM_TIMES=times_file, PYTHONPATH=stand_in,
                       WHOLE_PROGRAM_LOOPS=str(loops))
    result = subprocess.run(command, cwd=program_folder, env=environment, capture_output=True,
                            text=True, timeout=3600)
    if result.returncode:
        raise RuntimeError("%s failed in %s:\n%s%s" % (" ".join(command), program_folder,
                                                       result.stdout, result.stderr))
    with open(times_file) as stream:
        return sum(float(line) for line in stream if line.strip())


def measure(pythons, programs, options, folder, stand_in, null_tool):
    """{program: {"plain": [s...], tool: [s...], tool + " functions": [{name: (total, hits)}]}}"""
    results = {}
    times_file = os.path.join(folder, "times")
    for name, program_folder in programs.items():
        once = run_program(pythons["plain"], "plain", program_folder, times_file, None,
                           stand_in, 1)
        loops = max(1, min(1000, int(round(options.seconds / max(once, 1e-6)))))
        runs = {mode: [] for mode in MODES}
        runs["loops"] = loops
        outfiles = {mode: [] for mode in TOOLS}
        for index in range(options.rounds):
            for mode in MODES:
                outfile = os.path.join(folder, "%s-%s-%d.lprof" % (name, mode, index))
                runs[mode].append(run_program(pythons[mode], mode, program_folder, times_file,
                                              outfile, stand_in, loops, null_tool))
                if mode in TOOLS:
                    outfiles[mode].append(outfile)
        for tool in TOOLS:
            read = json.loads(run([pythons[tool], "-c", READ_FUNCTIONS, tool, "run_benchmark.py"]
                                  + outfiles[tool], cwd=folder))
            runs[tool + " functions"] = [read[path] for path in outfiles[tool]]
        results[name] = runs
        plain = statistics.median(runs["plain"])
        print("  %-14s %4d loops, plain %.3f s, %s" % (
            name, loops, plain, ", ".join("%s %.2fx" % (mode, statistics.median(runs[mode]) / plain)
                                          for mode in MODES[1:])), file=sys.stderr)
    return results


def summarize(results):
    rows = []
    for name, runs in results.items():
        plain = runs["plain"]
        slowdown = {mode: statistics.median(run / base for run, base in zip(runs[mode], plain))
                    for mode in MODES[1:]}
        # The top-level function: the largest total of the program's functions.
        accuracy = statistics.median(
            max(total for total, _ in functions.values()) / base
            for functions, base in zip(runs["lineprof functions"], plain))
        hit = {tool: set().union(*[{function for function, (_, hits) in functions.items() if hits}
                                   for functions in runs[tool + " functions"]])
               for tool in TOOLS}
        if not hit["lineprof"] or hit["lineprof"] != hit["line_profiler"]:
            print("  %s: functions with hits differ: only line_profiler %s, only lineprof %s"
                  % (name, sorted(hit["line_profiler"] - hit["lineprof"]),
                     sorted(hit["lineprof"] - hit["line_profiler"])), file=sys.stderr)
        rows.append((name, runs["loops"], statistics.median(plain), slowdown["line_profiler"],
                     slowdown["lineprof"], slowdown["floor"], accuracy,
                     len(hit["lineprof"])))
    return rows


def table(version, rows):
    lines = ["| %s | loops | plain | line_profiler | lineprof | floor | lineprof accuracy "
             "| functions hit |" % version, "|---|---|---|---|---|---|---|---|"]
    for name, loops, plain, theirs, ours, lowest, accuracy, functions in rows:
        lines.append("| %s | %d | %.3f s | %.1fx | %.2fx | %.2fx | %.2f | %d |"
                     % (name, loops, plain, theirs, ours, lowest, accuracy, functions))
    columns = list(zip(*rows))
    lines.append("| **median** | | | **%.1fx** | **%.2fx** | %.2fx | %.2f | |"
                 % tuple(statistics.median(columns[i]) for i in (3, 4, 5, 6)))
    lines.append("| max | | | %.1fx | %.2fx | %.2fx | %.2f | |"
                 % tuple(max(columns[i]) for i in (3, 4, 5, 6)))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", default="3.11,3.12,3.13",
                        help="comma-separated versions (default 3.11,3.12,3.13)")
    parser.add_argument("--programs", help="comma-separated names (default: all 15)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.2,
                        help="what a plain run should take; sets each program's loops")
    parser.add_argument("--cache", default=os.path.join(os.path.dirname(HERE), ".bench"))
    parser.add_argument("--no-install", action="store_true",
                        help="reuse the venvs as they are (do not reinstall lineprof)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    options = parser.parse_args()
    names = options.programs.split(",") if options.programs else list(PROGRAMS)
    os.makedirs(options.cache, exist_ok=True)
    tables = []
    with tempfile.TemporaryDirectory(prefix="whole-program-") as folder:
        programs, wheel = fetch_programs(options.cache, folder, names)
        source = copy_checkout(folder, committed=False)
        for version in options.pythons.split(","):
            python = find_python(version)
            if python is None:
                print("Python %s: not found, skipped" % version, file=sys.stderr)
                continue
            pythons = {"plain": python}
            for tool in TOOLS:
                pythons[tool] = prepare_environment(python, version, tool, source, options.cache,
                                                    install=not options.no_install)
            pythons["floor"] = python
            null_tool = os.path.join(build_null_tool(python, version, options.cache),
                                     "null_tool.py")
            full_version = platform_version(python)
            print("Python %s:" % full_version, file=sys.stderr)
            rows = summarize(measure(pythons, programs, options, folder, folder, null_tool))
            tables.append(table("Python " + full_version, rows))
    text = "Programs of %s, %d rounds.\n\n%s\n" % (wheel, options.rounds, "\n\n".join(tables))
    print(text)
    if options.markdown:
        with open(options.markdown, "w") as stream:
            stream.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
