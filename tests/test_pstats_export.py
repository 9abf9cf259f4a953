"""The pstats export, read back by the standard library's pstats."""
import io
import pstats
import sys

import pytest

import lineprof
from lineprof.pstats_export import write_pstats

MODULE = '''\
def outer(n):
    total = 0
    for i in range(n):
        total += inner(i)
    return total


def inner(i):
    """Starts with a docstring, which runs no line."""
    value = i * 2
    return value


def counting(n):
    for i in range(n):
        yield i


def never_called():
    pass
'''


def import_module(tmp_path, name, text):
    (tmp_path / (name + ".py")).write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def profile_module(tmp_path):
    module = import_module(tmp_path, "pstats_target", MODULE)
    profiler = lineprof.LineProfiler(module.outer, module.inner, module.counting,
                                     module.never_called)
    with profiler:
        module.outer(7)
        module.outer(3)
        assert list(module.counting(5)) == [0, 1, 2, 3, 4]
        assert list(module.counting(2)) == [0, 1]
    return str(tmp_path / "pstats_target.py"), profiler.get_stats()


def seconds(stats, key):
    return sum(time for _, _, time in stats.timings[key]) * stats.unit


def test_pstats_reads_calls_and_times(tmp_path):
    filename, stats = profile_module(tmp_path)
    path = tmp_path / "out.pstats"
    write_pstats(stats, str(path))

    loaded = pstats.Stats(str(path))
    keys = {name: (filename, line, name) for name, line in
            [("outer", 1), ("inner", 8), ("counting", 14), ("never_called", 19)]}
    assert set(loaded.stats) == set(keys.values())
    # The tracer's call counts: a generator's resumes are not calls.
    expected_calls = {"outer": 2, "inner": 10, "counting": 2, "never_called": 0}
    for name, key in keys.items():
        primitive, total, tottime, cumtime, callers = loaded.stats[key]
        assert (primitive, total) == (expected_calls[name],) * 2, name
        assert tottime == cumtime == pytest.approx(seconds(stats, key))
        assert callers == {}
    assert seconds(stats, keys["outer"]) > 0 and seconds(stats, keys["never_called"]) == 0
    assert loaded.total_calls == loaded.prim_calls == 2 + 10 + 2
    assert loaded.total_tt == pytest.approx(sum(seconds(stats, key) for key in keys.values()))


def test_print_stats_sorted_by_cumulative_time(tmp_path):
    filename, stats = profile_module(tmp_path)
    path = tmp_path / "out.pstats"
    write_pstats(stats, str(path))

    stream = io.StringIO()
    loaded = pstats.Stats(str(path), stream=stream)
    loaded.sort_stats("cumulative").print_stats()
    output = stream.getvalue()
    assert "14 function calls in %.3f seconds" % loaded.total_tt in output
    assert "Ordered by: cumulative time" in output
    rows = [line for line in output.splitlines() if "pstats_target.py:" in line]
    named = {row.rsplit("(", 1)[1].rstrip(")"): row.split() for row in rows}
    assert named["outer"][:2] == ["2", "%.3f" % seconds(stats, (filename, 1, "outer"))]
    assert named["inner"][0] == "10"
    assert named["never_called"][:2] == ["0", "0.000"]
    assert named["outer"][-1] == "%s:1(outer)" % filename
    # cumulative order: outer includes inner, so it comes first.
    order = [row.rsplit("(", 1)[1].rstrip(")") for row in rows]
    assert order.index("outer") < order.index("inner")
    assert order[-1] == "never_called"


def test_without_call_counts_the_first_executed_line_estimates_them(tmp_path):
    # line_profiler's files have no call counts.
    filename, stats = profile_module(tmp_path)
    stats.calls = {}
    path = tmp_path / "estimated.pstats"
    write_pstats(stats, str(path))
    loaded = pstats.Stats(str(path))
    calls = {key[2]: value[0] for key, value in loaded.stats.items()}
    # outer's first line ran once per call; inner's docstring is no line, so
    # its first executed line is `value = ...`; a loop header as first line
    # counts its iterations too.
    assert calls == {"outer": 2, "inner": 10, "counting": 5 + 1 + 2 + 1, "never_called": 0}

