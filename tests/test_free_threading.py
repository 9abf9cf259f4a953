"""Many threads at once: exact counts, also without the GIL (free-threaded
CPython, where each thread writes its own shard of the counts), and profilers
made, changed, read and dropped while other threads run profiled code.

On a build with the GIL these tests still check the counts and that nothing
breaks; on a free-threaded build they run with the GIL off."""
import os
import subprocess
import sys
import sysconfig
import threading

import pytest

from lineprof import LineProfiler

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
THREADS = 8
ROUNDS = 5


def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


def other(n):
    return [i for i in range(n)]


LOOP_LINE = spin.__code__.co_firstlineno + 3


def line_hits(profiler, func):
    code = func.__code__
    key = (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))
    rows = profiler.get_stats().timings.get(key, [])
    return {lineno: hits for lineno, hits, _ in rows}


def run_together(target, count=THREADS):
    """Starts count threads that wait for each other, so that they run at once."""
    barrier = threading.Barrier(count)

    def body():
        barrier.wait()
        target()

    threads = [threading.Thread(target=body) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.skipif(not FREE_THREADED, reason="only a free-threaded build can run without the GIL")
def test_importing_lineprof_leaves_the_gil_off():
    env = dict(os.environ)
    env.pop("PYTHON_GIL", None)
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys, lineprof, lineprof._tracer; print(sys._is_gil_enabled())"],
        capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "False"


def test_the_gil_is_off_where_it_can_be():
    if FREE_THREADED:
        assert not sys._is_gil_enabled()
    else:
        assert getattr(sys, "_is_gil_enabled", lambda: True)()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_decorated_calls_from_eight_threads_are_counted_exactly(round_):
    profiler = LineProfiler()
    decorated = profiler(spin)
    calls, n = 200, 250
    run_together(lambda: [decorated(n) for _ in range(calls)])
    hits = line_hits(profiler, spin)
    assert hits[LOOP_LINE] == THREADS * calls * n
    assert hits[LOOP_LINE - 1] == THREADS * calls * (n + 1)     # the for line
    assert hits[LOOP_LINE + 1] == THREADS * calls               # return total
    assert profiler.get_stats().calls[(spin.__code__.co_filename, spin.__code__.co_firstlineno,
                                       getattr(spin.__code__, "co_qualname", "spin"))] \
        == THREADS * calls


def test_enable_counts_eight_threads_exactly():
    profiler = LineProfiler(spin)
    profiler.enable()
    try:
        run_together(lambda: [spin(300) for _ in range(100)])
    finally:
        profiler.disable()
    assert line_hits(profiler, spin)[LOOP_LINE] == THREADS * 100 * 300


def test_many_short_threads_add_up():
    """Threads that end hand their stacks to new ones; their counts stay."""
    profiler = LineProfiler()
    decorated = profiler(spin)
    for _ in range(20):
        run_together(lambda: decorated(50), count=4)
    assert line_hits(profiler, spin)[LOOP_LINE] == 20 * 4 * 50


def test_profilers_changing_while_threads_run_keep_counts_exact():
    """A profiler's counts stay exact while, on another thread, profilers of
    the same and other code are made, enabled, read and dropped, and the
    registry grows (old tables retired under the running threads). The main
    thread does not run spin itself: while other threads are inside decorated
    calls, the steady profiler records every thread (as line_profiler's
    enable_by_count does)."""
    steady = LineProfiler()
    decorated = steady(spin)
    stop = threading.Event()
    done_calls = []

    def worker():
        count = 0
        while not stop.is_set() or count < 50:
            decorated(100)
            count += 1
        done_calls.append(count)

    threads = [threading.Thread(target=worker) for _ in range(THREADS - 1)]
    for thread in threads:
        thread.start()
    try:
        for i in range(60):
            churn = LineProfiler()
            churn.add_function(spin)
            churn.add_function(other)
            # Fresh code objects grow the registry.
            namespace = {}
            exec(compile("def f%d(n):\n    return n + 1\n" % i, "churn%d.py" % i, "exec"), namespace)
            churn.add_function(namespace["f%d" % i])
            with churn:
                other(5)
                namespace["f%d" % i](1)
            assert line_hits(churn, other)
            steady.get_stats()
            del churn
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert line_hits(steady, spin)[LOOP_LINE] == sum(done_calls) * 100


def test_reading_while_threads_count():
    profiler = LineProfiler()
    decorated = profiler(spin)
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            seen.append(line_hits(profiler, spin).get(LOOP_LINE, 0))

    reading = threading.Thread(target=reader)
    reading.start()
    try:
        run_together(lambda: [decorated(100) for _ in range(100)], count=THREADS - 1)
    finally:
        stop.set()
        reading.join()
    total = (THREADS - 1) * 100 * 100
    assert line_hits(profiler, spin)[LOOP_LINE] == total
    assert all(0 <= value <= total for value in seen)
    assert seen == sorted(seen)     # counts only grow


# A caller with twenty calling lines: each thread's table of edges grows
# several times (8, 16, 32, 64 slots) while the others count and a reader reads.
CALLER_SOURCE = "def caller(spin):\n" + "".join("    spin(3)\n" for _ in range(20))


def test_call_edges_from_threads_growing_their_tables_while_read():
    namespace = {}
    exec(compile(CALLER_SOURCE, "<caller>", "exec"), namespace)
    caller = namespace["caller"]
    profiler = LineProfiler(spin, caller)
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            seen.append(sum(calls for calls, _ in profiler.get_stats().edges.values()))

    reading = threading.Thread(target=reader)
    profiler.enable()
    reading.start()
    try:
        run_together(lambda: [caller(spin) for _ in range(50)], count=THREADS - 1)
    finally:
        stop.set()
        reading.join()
        profiler.disable()
    edges = profiler.get_stats().edges
    assert sorted(lineno for _, lineno, _ in edges) == list(range(2, 22))
    assert {calls for calls, _ in edges.values()} == {(THREADS - 1) * 50}
    assert seen == sorted(seen)
