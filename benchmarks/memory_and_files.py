"""The memory and file targets of the benchmark suite, for one Python:

    python benchmarks/memory_and_files.py [--events 100000000]

- bytes the profiler allocates per profiled line (tracemalloc sees the C
  extension's allocations, which go through PyMem_Raw*),
- the change of the resident size over a run of --events line events,
- the time to write and to read a .lprof file with 100,000 profiled lines.
Run it with a Python that has lineprof installed (benchmarks/run.py makes such
environments under .bench/)."""
import argparse
import os
import sys
import tempfile
import time
import tracemalloc

from lineprof import LineProfiler, LineStats, dump_stats, load_stats

FUNCTIONS, LINES_PER_FUNCTION = 200, 500


def many_lines():
    """FUNCTIONS functions of LINES_PER_FUNCTION lines each."""
    source = []
    for f in range(FUNCTIONS):
        source.append("def f%d(x):" % f)
        source.extend("    x = x + %d" % i for i in range(LINES_PER_FUNCTION - 1))
    namespace = {}
    exec(compile("\n".join(source), "<many_lines>", "exec"), namespace)
    return [namespace["f%d" % f] for f in range(FUNCTIONS)]


def bytes_per_line():
    functions = many_lines()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    profiler = LineProfiler(*functions)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del profiler
    return (after - before) / (FUNCTIONS * LINES_PER_FUNCTION)


def resident_bytes():
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def loop(n):
    i = 0
    while i < n:
        i += 1
    return i


def resident_growth(events):
    profiler = LineProfiler(loop)
    with profiler:
        loop(1000000)                   # first touch of every structure
    before = resident_bytes()
    with profiler:
        loop(events // 2)               # two line events per iteration
    after = resident_bytes()
    hits = sum(h for rows in profiler.get_stats().timings.values() for _, h, _ in rows)
    return after - before, hits


def file_times(folder):
    timings = {("big.py", 1 + 1000 * f, "f%d" % f): [(1000 * f + i, i, 10 * i)
                                                    for i in range(1000)]
               for f in range(100)}
    stats = LineStats(timings, 1e-9)
    path = os.path.join(folder, "big.lprof")
    writes, reads = [], []
    for _ in range(3):
        start = time.perf_counter()
        dump_stats(stats, path)
        writes.append(time.perf_counter() - start)
        start = time.perf_counter()
        loaded = load_stats(path)
        reads.append(time.perf_counter() - start)
    assert loaded == stats
    return min(writes), min(reads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10 ** 8)
    options = parser.parse_args()
    version = "%d.%d" % sys.version_info[:2]
    print("%s: %.1f bytes per profiled line" % (version, bytes_per_line()))
    growth, hits = resident_growth(options.events)
    print("%s: resident size changed by %d bytes over %d more line events (%d hits in all)"
          % (version, growth, options.events, hits))
    with tempfile.TemporaryDirectory() as folder:
        write, read = file_times(folder)
    print("%s: .lprof with 100,000 lines: write %.3f s, read %.3f s" % (version, write, read))


if __name__ == "__main__":
    main()
