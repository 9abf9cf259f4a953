"""How lineprof's cost per thread scales with threads running at once.

    PYTHON benchmarks/threads.py [--threads 1,2,8] [--runs 5] [--n 200000]

PYTHON is a Python with lineprof installed, best a free-threaded one
(python3.13t with PYTHON_GIL=0 or unset): there the threads run in parallel,
and any sharing in the tracer (a lock, an atomic add, a cache line written by
every thread) makes each thread's work dearer as threads are added. Each
thread runs the same profiled function on the same amount of work and reads
its own CPU time (time.thread_time), so the figure does not depend on how
many cores the machine has (2 here): per-thread cost = the median of the
threads' CPU times, for plain and profiled runs, round after round
interleaved. The target (issue 9): with 8 threads, per-thread cost within
1.2x of the one-thread cost, profiled.
"""
import argparse
import statistics
import sys
import sysconfig
import threading
import time

from lineprof import LineProfiler


def work(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    return total


def run_threads(func, count, n):
    """CPU seconds of each of count threads running func(n) at once."""
    barrier = threading.Barrier(count)
    times = [0.0] * count

    def body(index):
        barrier.wait()
        start = time.thread_time()
        func(n)
        times[index] = time.thread_time() - start

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def measure(counts, runs, n):
    """{(mode, count): [median per-thread CPU seconds of each round]}"""
    results = {}
    for _ in range(runs + 1):      # the first round warms up
        for count in counts:
            plain = run_threads(work, count, n)
            profiler = LineProfiler()
            profiled = run_threads(profiler(work), count, n)
            hits = sum(hits for rows in profiler.get_stats().timings.values()
                       for _, hits, _ in rows)
            expected = count * (3 * n + 3)
            if hits != expected:
                sys.exit("lost hits: %d of %d with %d threads" % (hits, expected, count))
            # A live profiler keeps work's code instrumented: the next plain
            # run would pay for the events.
            del profiler
            results.setdefault(("plain", count), []).append(statistics.median(plain))
            results.setdefault(("lineprof", count), []).append(statistics.median(profiled))
    return {key: values[1:] for key, values in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2,8", help="thread counts (default 1,2,8)")
    parser.add_argument("--runs", type=int, default=5, help="counted rounds (default 5)")
    parser.add_argument("--n", type=int, default=200000, help="loop turns per thread")
    options = parser.parse_args(argv)
    counts = [int(count) for count in options.threads.split(",")]
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    print("Python %s, %s, GIL %s; %d rounds, %d loop turns per thread"
          % (sys.version.split()[0],
             "free-threaded build" if sysconfig.get_config_var("Py_GIL_DISABLED") else "GIL build",
             "on" if gil else "off", options.runs, options.n))
    results = measure(counts, options.runs, options.n)
    base = {mode: statistics.median(results[(mode, counts[0])]) for mode in ("plain", "lineprof")}
    print("| threads | plain ms/thread | lineprof ms/thread | slowdown | lineprof per-thread cost "
          "vs %d thread(s) |" % counts[0])
    print("|---|---|---|---|---|")
    for count in counts:
        plain = statistics.median(results[("plain", count)])
        profiled = statistics.median(results[("lineprof", count)])
        spread = results[("lineprof", count)]
        print("| %d | %.1f | %.1f (%.1f–%.1f) | %.2f | %.2fx |"
              % (count, plain * 1e3, profiled * 1e3, min(spread) * 1e3, max(spread) * 1e3,
                 profiled / plain, profiled / base["lineprof"]))


if __name__ == "__main__":
    main()
