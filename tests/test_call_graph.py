"""The call graph between profiled functions (LineStats.edges): who called
whom from which line, how often, and the part of the line's time it took."""
import json
import threading

import pytest

import lineprof
from lineprof import LineProfiler
from lineprof.datafile import LprofFormatError, loads


def key_of(func):
    code = func.__code__
    return (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))


def line_of(func, text):
    """The line number of the first line of func that contains text."""
    import inspect
    lines, first = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return first + offset
    raise AssertionError("%r not in %s" % (text, func.__name__))


def leaf(n):
    total = 0
    for i in range(n):
        total += i
    return total


def unprofiled(n):
    return leaf(n)


def middle(n):
    a = leaf(n)
    b = leaf(2 * n)
    return a + b


def top():
    middle(2000)
    middle(2000)
    unprofiled(500)
    return leaf(10)


def line_times(stats, func):
    return {lineno: time for lineno, _, time in stats.timings[key_of(func)]}


def assert_lines_hold_their_edges(stats):
    """A line's time is its edges' time plus its own: the edges never take
    more than the line (one unit of rounding per edge aside)."""
    by_line = {}
    for (caller, lineno, _), (_, time) in stats.edges.items():
        by_line.setdefault((caller, lineno), []).append(time)
    for (caller, lineno), times in by_line.items():
        line_time = {row[0]: row[2] for row in stats.timings[caller]}[lineno]
        assert sum(times) <= line_time + len(times), (caller, lineno, times, line_time)


def test_calls_between_profiled_functions_are_counted_by_calling_line():
    profiler = LineProfiler(leaf, middle, top, compensation=False)
    profiler.runcall(top)
    stats = profiler.get_stats()
    calls = {edge: counts[0] for edge, counts in stats.edges.items()}
    assert calls == {
        (key_of(top), line_of(top, "middle(2000)"), key_of(middle)): 1,
        (key_of(top), line_of(top, "middle(2000)") + 1, key_of(middle)): 1,
        (key_of(top), line_of(top, "unprofiled(500)"), key_of(leaf)): 1,   # through unprofiled code
        (key_of(top), line_of(top, "return leaf(10)"), key_of(leaf)): 1,
        (key_of(middle), line_of(middle, "a = leaf(n)"), key_of(leaf)): 2,
        (key_of(middle), line_of(middle, "b = leaf(2 * n)"), key_of(leaf)): 2,
    }
    assert stats.calls[key_of(leaf)] == 6
    assert_lines_hold_their_edges(stats)
    first = line_of(top, "middle(2000)")
    assert stats.callers(key_of(middle)) == {
        (key_of(top), lineno): stats.edges[key_of(top), lineno, key_of(middle)]
        for lineno in (first, first + 1)}
    assert set(stats.callees(key_of(middle))) == {
        (line_of(middle, "a = leaf(n)"), key_of(leaf)), (line_of(middle, "b = leaf(2 * n)"), key_of(leaf))}


def test_own_time_is_the_total_less_the_profiled_callees():
    profiler = LineProfiler(leaf, middle, top, compensation=False)
    profiler.runcall(top)
    stats = profiler.get_stats()
    own = stats.own_times()
    for key in stats.timings:
        out = sum(time for (caller, _, _), (_, time) in stats.edges.items() if caller == key)
        assert own[key] == pytest.approx(max(0.0, stats.total_time(key) - out * stats.unit))
    assert own[key_of(leaf)] == stats.total_time(key_of(leaf))     # it calls nothing profiled
    assert own[key_of(middle)] < stats.total_time(key_of(middle))
    # Nested functions are not counted twice: the sum of own times is below
    # the sum of totals by the time of every edge.
    edges_time = sum(time for _, time in stats.edges.values()) * stats.unit
    assert stats.profiled_time() == pytest.approx(
        sum(stats.total_time(key) for key in stats.timings) - edges_time, abs=1e-8)
    # middle's lines take about twice what the edge from top's line gave it
    # and leaf's share of middle is most of middle.
    assert edges_time > 0


def recurse(depth):
    if depth == 0:
        return leaf(100)
    return recurse(depth - 1) + 1


def test_self_recursion_counts_calls_and_each_moment_once():
    profiler = LineProfiler(leaf, recurse, compensation=False)
    profiler.runcall(recurse, 4)
    stats = profiler.get_stats()
    recursive_line = line_of(recurse, "return recurse(depth - 1)")
    calls, time = stats.edges[key_of(recurse), recursive_line, key_of(recurse)]
    # The outer frame is paused while an inner one runs (its time goes to the
    # inner frame's lines), so the call takes none of the calling line's time.
    assert (calls, time) == (4, 0)
    assert stats.edges[key_of(recurse), line_of(recurse, "return leaf(100)"), key_of(leaf)][0] == 1
    assert stats.calls[key_of(recurse)] == 5
    assert_lines_hold_their_edges(stats)


def ping(n):
    if n == 0:
        return leaf(50)
    return pong(n - 1)


def pong(n):
    return ping(n) + 1


def test_mutual_recursion_keeps_lines_and_edges_consistent():
    profiler = LineProfiler(leaf, ping, pong, compensation=False)
    profiler.runcall(ping, 5)
    stats = profiler.get_stats()
    assert stats.edges[key_of(ping), line_of(ping, "return pong(n - 1)"), key_of(pong)][0] == 5
    assert stats.edges[key_of(pong), line_of(pong, "return ping(n)"), key_of(ping)][0] == 5
    assert_lines_hold_their_edges(stats)
    for key in stats.timings:
        raw = stats.total_time(key) - sum(
            time for (caller, _, _), (_, time) in stats.edges.items() if caller == key) * stats.unit
        assert raw >= -1e-8, key       # never more time in callees than in the function


def numbers():
    for i in range(3):
        leaf(100)
        yield i


def consume():
    total = 0
    for value in numbers():
        total += value
    return total


def test_a_generator_is_called_once_and_its_resumes_add_time_to_the_iterating_line():
    profiler = LineProfiler(leaf, numbers, consume, compensation=False)
    profiler.runcall(consume)
    stats = profiler.get_stats()
    iterating = line_of(consume, "for value in numbers()")
    calls, time = stats.edges[key_of(consume), iterating, key_of(numbers)]
    assert calls == 1
    assert time > 0
    assert stats.edges[key_of(numbers), line_of(numbers, "leaf(100)"), key_of(leaf)][0] == 3
    assert_lines_hold_their_edges(stats)


def fails():
    leaf(10)
    raise ValueError("no")


def catches():
    try:
        fails()
    except ValueError:
        return 1


def test_a_call_that_raises_is_counted():
    profiler = LineProfiler(leaf, fails, catches)
    profiler.runcall(catches)
    stats = profiler.get_stats()
    assert stats.edges[key_of(catches), line_of(catches, "fails()"), key_of(fails)][0] == 1


def test_edges_from_threads_add_up():
    profiler = LineProfiler(leaf, middle)
    profiler.enable()
    threads = [threading.Thread(target=lambda: [middle(10) for _ in range(25)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    profiler.disable()
    stats = profiler.get_stats()
    assert stats.edges[key_of(middle), line_of(middle, "a = leaf(n)"), key_of(leaf)][0] == 100
    assert stats.edges[key_of(middle), line_of(middle, "b = leaf(2 * n)"), key_of(leaf)][0] == 100


def test_a_caller_profiled_by_another_profiler_only_is_not_an_edge():
    # Each profiler's graph holds its own functions; the nearest profiled
    # frame below leaf is middle, which only the other profiler knows.
    outer, inner = LineProfiler(leaf, top), LineProfiler(middle)
    with outer, inner:
        top()
    mine = outer.get_stats().edges
    assert (key_of(top), line_of(top, "return leaf(10)"), key_of(leaf)) in mine
    assert not [edge for edge in mine if edge[2] == key_of(middle) or edge[0] == key_of(middle)]
    assert (key_of(top), line_of(top, "middle(2000)"), key_of(leaf)) not in mine
    assert inner.get_stats().edges == {}


def test_clear_forgets_the_edges():
    profiler = LineProfiler(leaf, middle)
    profiler.runcall(middle, 10)
    assert profiler.get_stats().edges
    profiler.clear()
    assert profiler.get_stats().edges == {}
    profiler.runcall(middle, 10)
    assert sum(calls for calls, _ in profiler.get_stats().edges.values()) == 2


def test_edges_survive_the_file_and_merge_sums_them(tmp_path):
    profiler = LineProfiler(leaf, middle, top)
    profiler.runcall(top)
    stats = profiler.get_stats()
    path = str(tmp_path / "a.lprof")
    stats.to_file(path)
    loaded = lineprof.load_stats(path)
    assert loaded.edges == stats.edges
    twice = lineprof.LineStats.from_files(path, path)
    assert twice.edges == {edge: (2 * calls, 2 * time) for edge, (calls, time) in stats.edges.items()}


def test_merging_a_changed_function_keeps_its_edges_apart(tmp_path):
    profiler = LineProfiler(leaf, middle)
    profiler.runcall(middle, 10)
    stats = profiler.get_stats()
    other = lineprof.LineStats(dict(stats.timings), stats.unit, dict(stats.code_hashes),
                               edges=dict(stats.edges))
    other.code_hashes[key_of(leaf)] = "0" * 40      # leaf's source changed between the runs
    merged = stats + other
    (changed_from, changed_to), = merged.changed_sources
    assert changed_from == key_of(leaf)
    callees = {callee for _, _, callee in merged.edges}
    assert callees == {key_of(leaf), changed_to}


def test_a_file_without_callers_opens_and_bad_callers_are_refused(tmp_path):
    profiler = LineProfiler(leaf, middle)
    profiler.runcall(middle, 10)
    path = str(tmp_path / "a.lprof")
    profiler.dump_stats(path)
    header, body = open(path, "rb").read().split(b"\n", 1)
    document = json.loads(body)
    assert any("callers" in function for function in document["functions"])
    for function in document["functions"]:
        function.pop("callers", None)
    old = loads(header + b"\n" + json.dumps(document).encode())
    assert old.edges == {} and old.timings == lineprof.load_stats(path).timings
    for bad in ([[99, 1, 1, 1]], [[0, 1, -1, 1]], [["x", 1, 1, 1]], {"a": 1}):
        document["functions"][0]["callers"] = bad
        with pytest.raises(LprofFormatError, match="damaged .lprof file"):
            loads(header + b"\n" + json.dumps(document).encode())


def test_kernprof_records_the_call_graph_of_the_example(kernprof, tmp_path):
    import os
    import shutil
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copy(os.path.join(os.path.dirname(here), "examples", "primes.py"), str(tmp_path))
    result = kernprof("-l", "primes.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "primes.py.lprof"))
    names = {(caller[2], callee[2]): calls for (caller, _, callee), (calls, _) in stats.edges.items()}
    assert names[("primes_below", "is_prime")] == stats.calls[
        next(key for key in stats.timings if key[2] == "is_prime")]


POOL_PROGRAM = '''\
import multiprocessing
import sys


@profile
def square(n):
    return n * n


@profile
def work(n):
    return square(n) + square(n + 1)


if __name__ == "__main__":
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
        pool.map(work, range(40), chunksize=1)
'''


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX processes")
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_edges_of_a_jobs_processes_are_merged(kernprof, tmp_path, method):
    (tmp_path / "pool.py").write_text(POOL_PROGRAM)
    result = kernprof("-l", "pool.py", method, env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "Merged the profiles of" in result.stdout
    stats = lineprof.load_stats(str(tmp_path / "pool.py.lprof"))
    calls = {(caller[2], callee[2]): calls for (caller, _, callee), (calls, _) in stats.edges.items()}
    assert calls == {("work", "square"): 80}
