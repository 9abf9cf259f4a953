"""The pstats export, read back by the standard library's pstats."""
import io
import pstats
import sys

import pytest

import lineprof
from lineprof.pstats_export import write_pstats

from conftest import run_python

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
    # Without compensation: these tests check what the export makes of the
    # counts; compensated, the calls of a function as cheap as inner can come
    # to 0 on a loaded machine (a call's two ends are subtracted as one
    # calibrated dispatch), and the strict comparisons below mean nothing.
    profiler = lineprof.LineProfiler(module.outer, module.inner, module.counting,
                                     module.never_called, compensation=False)
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
        # cumtime is the total, tottime the own time: less what the profiled
        # functions it called took.
        assert cumtime == pytest.approx(seconds(stats, key))
        assert tottime == pytest.approx(stats.own_time(key), abs=1e-12)
    assert seconds(stats, keys["outer"]) > 0 and seconds(stats, keys["never_called"]) == 0
    # outer's line `total += inner(i)` called inner 10 times; the others were
    # called from the test, which is not profiled: they are roots.
    inner_calls, edge_time = stats.edges[(keys["outer"], 4, keys["inner"])]
    assert inner_calls == 10
    outer = loaded.stats[keys["outer"]]
    assert outer[2] == pytest.approx(seconds(stats, keys["outer"]) - edge_time * stats.unit)
    assert outer[2] < outer[3]
    (caller, entry), = loaded.stats[keys["inner"]][4].items()
    assert caller == keys["outer"]
    # (calls, primitive calls, tottime, cumtime) of the calls from outer: all
    # of inner's calls came from outer, so all of its own time is outer's share.
    assert entry == (10, 10, pytest.approx(loaded.stats[keys["inner"]][2]),
                     pytest.approx(edge_time * stats.unit))
    for name in ("outer", "counting", "never_called"):
        assert loaded.stats[keys[name]][4] == {}, name
    assert loaded.total_calls == loaded.prim_calls == 2 + 10 + 2
    # The header total counts each moment once: the sum of own times.
    assert loaded.total_tt == pytest.approx(stats.profiled_time())
    assert loaded.total_tt == pytest.approx(sum(value[2] for value in loaded.stats.values()))
    assert loaded.total_tt < sum(seconds(stats, key) for key in keys.values())


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


def test_print_callers_and_callees_name_the_calls_between_profiled_functions(tmp_path):
    filename, stats = profile_module(tmp_path)
    path = tmp_path / "out.pstats"
    write_pstats(stats, str(path))

    stream = io.StringIO()
    loaded = pstats.Stats(str(path), stream=stream)
    loaded.print_callers("inner")
    loaded.print_callees("outer")
    output = stream.getvalue()
    # pstats's rows: "calls tottime cumtime function", after "<-" (callers)
    # or "->" (callees), as print_call_line formats them.
    _, _, tottime, cumtime = loaded.stats[(filename, 8, "inner")][4][(filename, 1, "outer")]
    numbers = "10 %s %s  " % (pstats.f8(tottime), pstats.f8(cumtime))
    callers_part, callees_part = output.split("called...")
    assert "%s:8(inner)" % filename in callers_part
    assert "<-" in callers_part and numbers + "%s:1(outer)" % filename in callers_part
    assert "->" in callees_part and numbers + "%s:8(inner)" % filename in callees_part


RECURSIVE = '''\
def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


def ping(n):
    if n <= 0:
        return 0
    return pong(n - 1) + 1


def pong(n):
    return ping(n)


def run():
    return fact(6) + ping(4)
'''


def profile_recursion(tmp_path):
    module = import_module(tmp_path, "pstats_recursion", RECURSIVE)
    profiler = lineprof.LineProfiler(module.fact, module.ping, module.pong, module.run,
                                     compensation=False)     # as profile_module
    with profiler:
        assert module.run() == 720 + 4
        assert module.ping(2) == 2          # a call from unprofiled code: a root call
    filename = str(tmp_path / "pstats_recursion.py")
    keys = {name: (filename, line, name) for name, line in
            [("fact", 1), ("ping", 7), ("pong", 13), ("run", 17)]}
    return keys, profiler.get_stats()


def test_recursion_counts_recursive_calls_and_each_moment_once(tmp_path):
    keys, stats = profile_recursion(tmp_path)
    path = tmp_path / "recursion.pstats"
    write_pstats(stats, str(path))
    loaded = pstats.Stats(str(path))
    fact, ping, pong, run = (loaded.stats[keys[name]] for name in ("fact", "ping", "pong", "run"))

    # fact(6) from run, then 5 calls of itself: 6/1 as cProfile counts them.
    assert fact[:2] == (1, 6)
    assert set(fact[4]) == {keys["run"], keys["fact"]}
    assert fact[4][keys["run"]][:2] == (1, 1) and fact[4][keys["fact"]][:2] == (5, 5)
    self_calls, self_time = stats.edges[(keys["fact"], 4, keys["fact"])]
    assert self_calls == 5 and fact[4][keys["fact"]][3] == pytest.approx(self_time * stats.unit)
    # ping: once from run, 6 times from pong, once from the test (no caller).
    # A call back through pong is not told apart from a first call.
    assert ping[:2] == (8, 8) and pong[:2] == (6, 6)
    assert {caller: entry[:2] for caller, entry in ping[4].items()} == {
        keys["run"]: (1, 1), keys["pong"]: (6, 6)}
    assert {caller: entry[:2] for caller, entry in pong[4].items()} == {keys["ping"]: (6, 6)}
    assert run[4] == {}

    for name in ("fact", "ping", "pong", "run"):
        key = keys[name]
        primitive, calls, tottime, cumtime, callers = loaded.stats[key]
        assert cumtime == pytest.approx(stats.total_time(key)), name
        assert tottime == pytest.approx(stats.own_time(key), abs=1e-12), name
        for caller, (_, _, caller_tt, caller_ct) in callers.items():
            edge_time = sum(time for (edge_caller, _, callee), (_, time) in stats.edges.items()
                            if (edge_caller, callee) == (caller, key))
            assert caller_ct == pytest.approx(edge_time * stats.unit), name
            assert 0 <= caller_tt <= tottime, name
    # Every call of fact and pong came from a profiled function: their own
    # time is shared out among their callers entirely, as cProfile's is.
    for entry in (fact, pong):
        assert sum(caller[2] for caller in entry[4].values()) == pytest.approx(entry[2])
    # ping also ran from the test: its callers hold a part of it only.
    assert sum(caller[2] for caller in ping[4].values()) <= ping[2] * (1 + 1e-9)

    assert loaded.total_calls == 6 + 8 + 6 + 1 and loaded.prim_calls == 1 + 8 + 6 + 1
    assert loaded.total_tt == pytest.approx(stats.profiled_time())
    assert loaded.total_tt <= sum(value[3] for value in loaded.stats.values())

    stream = io.StringIO()
    shown = pstats.Stats(str(path), stream=stream)
    shown.print_stats("fact")
    assert "21 function calls (16 primitive calls)" in stream.getvalue()
    (fact_row,) = [row for row in stream.getvalue().splitlines() if row.endswith("(fact)")]
    assert fact_row.split()[0] == "6/1"
    stream.truncate(0)
    shown.print_callers("fact")
    shown.print_callees("fact")
    rows = [row.replace("<-", " ").replace("->", " ").split() for row in
            stream.getvalue().splitlines() if row.endswith(("(fact)", "(run)"))]
    fact_name, run_name = "%s:1(fact)" % keys["fact"][0], "%s:17(run)" % keys["fact"][0]
    # Rows end "ncalls tottime cumtime function". callers: fact <- 5 from
    # fact, 1 from run; callees: fact -> 5 to fact.
    assert sorted((row[-4], row[-1]) for row in rows) == [
        ("1", run_name), ("5", fact_name), ("5", fact_name)]


def test_stats_of_several_files_add_up_their_callers(tmp_path):
    keys, stats = profile_recursion(tmp_path)
    write_pstats(stats, str(tmp_path / "a.pstats"))
    write_pstats(stats, str(tmp_path / "b.pstats"))
    one = pstats.Stats(str(tmp_path / "a.pstats"))
    both = pstats.Stats(str(tmp_path / "a.pstats"), str(tmp_path / "b.pstats"))
    for key, (primitive, calls, tottime, cumtime, callers) in one.stats.items():
        assert both.stats[key][:4] == (2 * primitive, 2 * calls, pytest.approx(2 * tottime),
                                      pytest.approx(2 * cumtime))
        assert set(both.stats[key][4]) == set(callers)
        for caller, entry in callers.items():
            assert both.stats[key][4][caller] == pytest.approx(tuple(2 * x for x in entry))
    assert both.total_tt == pytest.approx(2 * one.total_tt)


def test_without_call_graph_tottime_is_the_total_and_there_are_no_callers(tmp_path):
    # Files written before lineprof recorded the call graph, and
    # line_profiler's, have no edges: the export is what it always was.
    filename, stats = profile_module(tmp_path)
    stats.edges = {}
    path = tmp_path / "flat.pstats"
    write_pstats(stats, str(path))
    loaded = pstats.Stats(str(path))
    for key, (primitive, calls, tottime, cumtime, callers) in loaded.stats.items():
        assert tottime == cumtime == pytest.approx(seconds(stats, key))
        assert callers == {}
    assert loaded.total_tt == pytest.approx(sum(seconds(stats, key) for key in stats.timings))


def test_a_profile_without_functions_is_a_file_pstats_loads(tmp_path):
    # pstats.Stats refuses a file holding an empty dict ("Cannot create or
    # construct"); cProfile's file of an empty run has one entry too.
    path = tmp_path / "empty.pstats"
    write_pstats(lineprof.LineStats({}, 1e-9), str(path))
    stream = io.StringIO()
    loaded = pstats.Stats(str(path), stream=stream)
    assert loaded.stats == {("~", 0, "<no profiled function>"): (0, 0, 0.0, 0.0, {})}
    assert loaded.total_calls == 0 and loaded.total_tt == 0
    loaded.print_stats()
    loaded.print_callers()
    assert "0 function calls in 0.000 seconds" in stream.getvalue()
    assert "{no profiled function}" in stream.getvalue()


def test_export_command_of_a_run_that_profiled_nothing(tmp_path, kernprof):
    (tmp_path / "plain.py").write_text("print('no decorated function')\n")
    result = kernprof("-l", "plain.py")
    assert result.returncode == 0, result.stderr
    result = run_python(["-m", "lineprof", "pstats", "plain.py.lprof", "-o", "plain.prof"],
                        tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = pstats.Stats(str(tmp_path / "plain.prof"))
    assert list(loaded.stats) == [("~", 0, "<no profiled function>")]
