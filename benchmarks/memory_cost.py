"""What memory per line costs (issue 14), against tracemalloc and memory_profiler.

    python3 benchmarks/memory_cost.py [--rounds 5] [--calls N] PYTHON [PYTHON...]

Each PYTHON is a venv's python with lineprof and memory_profiler installed
(pip install memory_profiler). An allocation-heavy function (every line
makes objects: strings, dicts, lists, slices) runs in a fresh child process
per mode and round, the modes interleaved round after round, each child
timing the call itself:
  plain           the function as it is
  lineprof        LineProfiler(work): time per line only
  lineprof-mem    LineProfiler(work, memory=True): time and memory per line
  tracemalloc     tracemalloc.start() around the call (allocations only)
  memory_profiler memory_profiler.LineProfiler (its @profile): resident size
                  per line
The figures are medians over the rounds: the added time of each mode
(its time - plain's), and the two ratios the issue sets targets for:
memory_profiler's added time / lineprof-mem's (target >= 50) and
lineprof-mem's added time / lineprof's (target <= 2).

With --callgrind, each mode but memory_profiler runs once under valgrind's
callgrind instead, and the figures are instruction counts: stable where
times on a shared machine are not.

With --paired, the ratio lineprof-mem / lineprof is measured in one process
per PYTHON instead: --rounds rounds (45 is a good number) of plain, lineprof
and lineprof-mem one after the other, in an order that turns each round,
each on its own copy of the function and with a profiler made for it, so that
a burst of load from elsewhere falls on the three modes of a round alike.
Given are the medians of each mode's added time over the round's plain time,
and the median of the rounds' own ratios.

With --peak, the memory each mode takes: a fresh process per mode builds a
million small objects (strings, a dict of tuples) and keeps them, and the
growth of its peak resident size is given (the map of block sizes, for
lineprof --memory; the traces, for tracemalloc).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r'''
import sys, time
mode, calls = sys.argv[1], int(sys.argv[2])

def work(n):
    out = []
    for i in range(n):
        text = str(i) * 3
        record = {"key": text, "values": [i, i + 1, i + 2]}
        out.append(record)
        if len(out) > 2000:
            out = out[1000:]
    return len(out)

run = work
if mode == "lineprof":
    from lineprof import LineProfiler
    run = LineProfiler()(work)
elif mode == "lineprof-mem":
    from lineprof import LineProfiler
    run = LineProfiler(memory=True)(work)
elif mode == "tracemalloc":
    import tracemalloc
elif mode == "memory_profiler":
    import memory_profiler
    run = memory_profiler.LineProfiler(backend="psutil")(work)
work(1000)                       # warm caches, imports and the interpreter
start = time.perf_counter()
if mode == "tracemalloc":
    tracemalloc.start()
run(calls)
if mode == "tracemalloc":
    tracemalloc.stop()
print(time.perf_counter() - start)
'''

MODES = ("plain", "lineprof", "lineprof-mem", "tracemalloc", "memory_profiler")

PEAK_CHILD = r'''
import resource, sys
mode = sys.argv[1]

def build(n):
    kept = [str(i) * 2 for i in range(n)]
    table = {i: (i, i + 1) for i in range(n)}
    return kept, table

run = build
if mode in ("lineprof", "lineprof-mem"):
    from lineprof import LineProfiler
    run = LineProfiler(memory=mode == "lineprof-mem")(build)
elif mode == "tracemalloc":
    import tracemalloc
    tracemalloc.start()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kept = run(10 ** 6)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)     # KiB on Linux
'''

PAIRED_CHILD = r'''
import gc, json, sys, time
from lineprof import LineProfiler
rounds, calls = int(sys.argv[1]), int(sys.argv[2])
source = sys.argv[3]

def copy_of_work(tag):
    namespace = {}
    exec(compile(source, "<work-%s>" % tag, "exec"), namespace)
    return namespace["work"]

modes = ["plain", "lineprof", "lineprof-mem"]
times = {mode: [] for mode in modes}
copy_of_work("warm-up")(1000)
for number in range(rounds):
    for mode in modes[number % 3:] + modes[:number % 3]:
        work = copy_of_work(mode)
        profiler = None if mode == "plain" else LineProfiler(memory=mode == "lineprof-mem")
        run = work if profiler is None else profiler(work)
        start = time.perf_counter()
        run(calls)
        times[mode].append(time.perf_counter() - start)
        del profiler, run, work
        gc.collect()            # the profiler's hooks go with it
print(json.dumps(times))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100000)
    parser.add_argument("--no-memory-profiler", action="store_true",
                        help="leave memory_profiler out (its run takes minutes at larger --calls)")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions under callgrind instead of timing")
    parser.add_argument("--paired", action="store_true",
                        help="time lineprof-mem against lineprof in one process per PYTHON")
    parser.add_argument("--peak", action="store_true",
                        help="measure the growth of the peak resident size instead")
    parser.add_argument("pythons", nargs="+")
    options = parser.parse_args()
    if options.callgrind:
        return count_instructions(options)
    if options.paired:
        return time_paired(options)
    if options.peak:
        return measure_peaks(options)
    print("| Python | plain | lineprof | lineprof --memory | tracemalloc | memory_profiler "
          "| memory_profiler / lineprof --memory (added) | lineprof --memory / lineprof (added) |")
    print("|---|---|---|---|---|---|---|---|")
    folder = tempfile.mkdtemp()
    # A file, not -c: memory_profiler traces nothing whose source it cannot read.
    child = os.path.join(folder, "memory_workload.py")
    with open(child, "w") as stream:
        stream.write(CHILD)
    for python in options.pythons:
        times = {mode: [] for mode in MODES}
        modes = MODES[:-1] if options.no_memory_profiler else MODES
        for _ in range(options.rounds):
            for mode in modes:
                result = subprocess.run([python, child, mode, str(options.calls)],
                                        capture_output=True, text=True, check=True, cwd=folder)
                times[mode].append(float(result.stdout.split()[-1]))
        version = python_version(python)
        median = {mode: statistics.median(times[mode]) for mode in modes}
        added = {mode: median[mode] - median["plain"] for mode in modes}
        theirs, ratio = ("not run", "")
        if "memory_profiler" in added:
            theirs = "+%.3f s" % added["memory_profiler"]
            ratio = "%.0fx" % (added["memory_profiler"] / added["lineprof-mem"])
        print("| %s | %.3f s | +%.3f s | +%.3f s | +%.3f s | %s | %s | %.2fx |" % (
            version, median["plain"], added["lineprof"], added["lineprof-mem"],
            added["tracemalloc"], theirs, ratio, added["lineprof-mem"] / added["lineprof"]))
    os.unlink(child)
    os.rmdir(folder)
    return 0


def python_version(python):
    return subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def work_source():
    """The child's work function, as source."""
    start = CHILD.index("def work(n):")
    return CHILD[start:CHILD.index("\nrun = work")] + "\n"


def time_paired(options):
    print("| Python | plain | lineprof (added) | lineprof --memory (added) "
          "| lineprof --memory / lineprof (added) | the rounds' own ratios (median) |")
    print("|---|---|---|---|---|---|")
    folder = tempfile.mkdtemp()     # not the checkout: -c imports from the current folder
    for python in options.pythons:
        result = subprocess.run([python, "-c", PAIRED_CHILD, str(options.rounds),
                                 str(options.calls), work_source()],
                                capture_output=True, text=True, cwd=folder)
        if result.returncode != 0:
            sys.exit("%s failed:\n%s" % (python, result.stderr))
        times = json.loads(result.stdout)
        added = {mode: [t - plain for t, plain in zip(times[mode], times["plain"])]
                 for mode in ("lineprof", "lineprof-mem")}
        median = {mode: statistics.median(values) for mode, values in added.items()}
        own_ratios = [mem / time_only for mem, time_only
                      in zip(added["lineprof-mem"], added["lineprof"]) if time_only > 0]
        version = python_version(python)
        print("| %s | %.1f ms | +%.1f ms | +%.1f ms | %.2fx | %.2fx |" % (
            version, 1e3 * statistics.median(times["plain"]), 1e3 * median["lineprof"],
            1e3 * median["lineprof-mem"], median["lineprof-mem"] / median["lineprof"],
            statistics.median(own_ratios)))
    os.rmdir(folder)
    return 0


def measure_peaks(options):
    modes = ("plain", "lineprof", "lineprof-mem", "tracemalloc")
    print("| Python | plain | lineprof | lineprof --memory | tracemalloc |")
    print("|---|---|---|---|---|")
    folder = tempfile.mkdtemp()
    for python in options.pythons:
        growth = {}
        for mode in modes:
            result = subprocess.run([python, "-c", PEAK_CHILD, mode], capture_output=True,
                                    text=True, cwd=folder)
            if result.returncode != 0:
                sys.exit("%s failed:\n%s" % (python, result.stderr))
            growth[mode] = int(result.stdout) / 1024
        version = python_version(python)
        print("| %s | %.0f MiB | %s |" % (version, growth["plain"], " | ".join(
            "%.0f MiB (%.2fx)" % (growth[mode], growth[mode] / growth["plain"])
            for mode in modes[1:])))
    os.rmdir(folder)
    return 0


def count_instructions(options):
    folder = tempfile.mkdtemp()
    child = os.path.join(folder, "memory_workload.py")
    with open(child, "w") as stream:
        stream.write(CHILD)
    modes = ("plain", "lineprof", "lineprof-mem", "tracemalloc")
    print("| Python | plain | lineprof (added) | lineprof --memory (added) | tracemalloc (added) "
          "| lineprof --memory / lineprof (added) |")
    print("|---|---|---|---|---|---|")
    for python in options.pythons:
        counts = {}
        for mode in modes:
            out = os.path.join(folder, "callgrind.out")
            subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                            python, child, mode, str(options.calls)],
                           capture_output=True, check=True, cwd=folder)
            with open(out) as stream:
                counts[mode] = next(int(line.split()[1]) for line in stream
                                    if line.startswith("summary:"))
            os.unlink(out)
        version = python_version(python)
        added = {mode: counts[mode] - counts["plain"] for mode in modes}
        print("| %s | %.1fM | +%.1fM | +%.1fM | +%.1fM | %.2fx |" % (
            version, counts["plain"] / 1e6, added["lineprof"] / 1e6, added["lineprof-mem"] / 1e6,
            added["tracemalloc"] / 1e6, added["lineprof-mem"] / added["lineprof"]))
    os.unlink(child)
    os.rmdir(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
