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
"""
import argparse
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100000)
    parser.add_argument("--no-memory-profiler", action="store_true",
                        help="leave memory_profiler out (its run takes minutes at larger --calls)")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions under callgrind instead of timing")
    parser.add_argument("pythons", nargs="+")
    options = parser.parse_args()
    if options.callgrind:
        return count_instructions(options)
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
        version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
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
        version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        added = {mode: counts[mode] - counts["plain"] for mode in modes}
        print("| %s | %.1fM | +%.1fM | +%.1fM | +%.1fM | %.2fx |" % (
            version, counts["plain"] / 1e6, added["lineprof"] / 1e6, added["lineprof-mem"] / 1e6,
            added["tracemalloc"] / 1e6, added["lineprof-mem"] / added["lineprof"]))
    os.unlink(child)
    os.rmdir(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
