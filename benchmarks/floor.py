"""The floor of a line tracer, measured beside lineprof.

Builds benchmarks/floor/floor_tracer.c (the least a C tracer can do per line
event: read the TSC, charge the previous line, count a hit; PyEval_SetTrace
before 3.12, a sys.monitoring LINE callback on the one code object after) with
the Python running this script, once as it is ("floor") and once reading the
clock a second time on the way out as lineprof does ("floor x2"), then times
workload 1's loop plain, under both and under lineprof's decorator,
interleaved, and prints the nanoseconds each adds per line event. Run it with a Python that has lineprof
installed, e.g. `.bench/lineprof-3.11/bin/python benchmarks/floor.py`.

With `--workload FILE` (one of benchmarks/workloads/), it instead times that
workload plain and with the floor tracer installed on every frame (its line
events of other code cost it one clock reading and a comparison, as a minimal
trace function that does not filter frames would), and prints the slowdown:
before 3.12, the least any trace function can slow that program by.
x86-64 only (the floor reads the TSC)."""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import runpy
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "workloads"))
from w1_tight_loop import tight_loop  # noqa: E402  (workload 1's loop, as run.py times it)
SOURCE = os.path.join(HERE, "floor", "floor_tracer.c")
TOOL_ID = 5


def build_floor_tracer(folder, two_reads):
    folder = os.path.join(folder, "x2" if two_reads else "x1")
    os.mkdir(folder)
    path = os.path.join(folder, "floor_tracer" + sysconfig.get_config_var("EXT_SUFFIX"))
    defines = ["-DFLOOR_TWO_READS"] if two_reads else []
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I" + sysconfig.get_paths()["include"]]
                   + defines + [SOURCE, "-o", path], check=True)
    spec = importlib.util.spec_from_file_location("floor_tracer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(func, n):
    start = time.perf_counter()
    func(n)
    return time.perf_counter() - start


def run_floor(floor, n):
    floor.start(tight_loop.__code__)
    if sys.version_info >= (3, 12):
        monitoring = sys.monitoring
        monitoring.use_tool_id(TOOL_ID, "floor")
        monitoring.register_callback(TOOL_ID, monitoring.events.LINE, floor.callback)
        monitoring.set_local_events(TOOL_ID, tight_loop.__code__, monitoring.events.LINE)
    try:
        return timed(tight_loop, n), floor.stop()
    finally:
        if sys.version_info >= (3, 12):
            monitoring.set_local_events(TOOL_ID, tight_loop.__code__, 0)
            monitoring.register_callback(TOOL_ID, monitoring.events.LINE, None)
            monitoring.free_tool_id(TOOL_ID)


def run_lineprof(n):
    import lineprof
    profiler = lineprof.LineProfiler()
    elapsed = timed(profiler(tight_loop), n)
    (lines,) = profiler.get_stats().timings.values()
    return elapsed, sum(hits for _, hits, _ in lines)


def run_workload(path, floor=None):
    """Seconds of the workload's timed part (its BENCH line), plain or with
    the floor tracer installed for a code object that never runs."""
    sys.argv = [path, "1"]
    output = io.StringIO()
    if floor is not None:
        floor.start(run_workload.__code__)
    try:
        with contextlib.redirect_stdout(output):
            runpy.run_path(path, run_name="__main__")
    finally:
        if floor is not None:
            floor.stop()
    return json.loads(output.getvalue().split("BENCH ", 1)[1])["elapsed"]


def workload_floor(path, runs, floor):
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    slowdowns = []
    for round_number in range(runs + 1):                   # round 0 warms up
        plain = run_workload(path)
        traced = run_workload(path, floor)
        if round_number:
            slowdowns.append(traced / plain)
    print("Python %s, %s, %d rounds: a minimal trace function slows it %.2fx (%.2f-%.2f)"
          % (sys.version.split()[0], os.path.basename(path), runs,
             statistics.median(slowdowns), min(slowdowns), max(slowdowns)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="counted rounds (default 7)")
    parser.add_argument("-n", type=int, default=2000000, help="loop iterations")
    parser.add_argument("--workload", metavar="FILE",
                        help="time this workload script under the floor tracer instead "
                             "(before 3.12)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if options.workload:
            if sys.version_info >= (3, 12):
                sys.exit("floor.py: --workload measures trace functions, which 3.12+ "
                         "replaces with sys.monitoring")
            workload_floor(options.workload, options.runs,
                           build_floor_tracer(folder, two_reads=False))
            return
        floors = {"floor": build_floor_tracer(folder, two_reads=False),
                  "floor x2": build_floor_tracer(folder, two_reads=True)}
        added = {name: [] for name in list(floors) + ["lineprof"]}
        for round_number in range(options.runs + 1):       # round 0 warms up
            plain = timed(tight_loop, options.n)
            runs = {name: run_floor(floor, options.n) for name, floor in floors.items()}
            runs["lineprof"] = run_lineprof(options.n)
            if len({events for _, events in runs.values()}) != 1:
                sys.exit("floor.py: the tracers saw different numbers of line events: %r"
                         % runs)
            if round_number:
                for name, (elapsed, events) in runs.items():
                    added[name].append((elapsed - plain) / events * 1e9)
    print("Python %s, %d rounds, ns added per line event, median (min-max):"
          % (sys.version.split()[0], options.runs))
    for name, values in added.items():
        print("  %-9s %5.1f (%.1f-%.1f)" % (name, statistics.median(values), min(values),
                                           max(values)))


if __name__ == "__main__":
    main()
