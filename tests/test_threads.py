"""Hits from several threads add up; which threads are traced (DESIGN.md)."""
import sys
import threading

from lineprof import LineProfiler


def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


def hits_of(profiler, func):
    code = func.__code__
    key = (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))
    return {lineno: hits for lineno, hits, _ in profiler.get_stats().timings[key]}


def loop_line_hits(profiler):
    return hits_of(profiler, spin).get(spin.__code__.co_firstlineno + 3, 0)


def run_in_threads(target, count):
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_hits_from_threads_started_after_enable_add_up():
    profiler = LineProfiler(spin)
    profiler.enable()
    run_in_threads(lambda: spin(1000), 4)
    profiler.disable()
    assert loop_line_hits(profiler) == 4000


def test_decorated_calls_in_threads_add_up():
    profiler = LineProfiler()
    decorated = profiler(spin)
    run_in_threads(lambda: [decorated(100) for _ in range(50)], 4)
    assert loop_line_hits(profiler) == 4 * 50 * 100


def test_a_thread_running_before_enable():
    profiler = LineProfiler(spin)
    go, started = threading.Event(), threading.Event()

    def waiting():
        started.set()
        go.wait()
        spin(1000)

    thread = threading.Thread(target=waiting)
    thread.start()
    started.wait()
    profiler.enable()
    go.set()
    thread.join()
    profiler.disable()
    # 3.12+: sys.monitoring sees every thread; 3.9-3.11: enable() installs the
    # trace function on running threads; 3.8 cannot (DESIGN.md).
    expected = 0 if sys.version_info < (3, 9) else 1000
    assert loop_line_hits(profiler) == expected
