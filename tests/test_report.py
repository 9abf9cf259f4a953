"""The text report (line_profiler's layout) and `python -m lineprof`."""
import importlib
import io
import os
import re
import sys

from conftest import run_python

import lineprof
from lineprof import LineStats, dump_stats, show_text

SOURCE = '''\
import os


def handler(n):
    total = 0
    for i in range(n):
        total += i
    return total
'''
HEADER = "%6s %9s %12s %8s %8s  %-s" % ("Line #", "Hits", "Time", "Per Hit", "% Time",
                                       "Line Contents")
ROW = re.compile(r"^ *(\d+) +(\d+) +([\d.e+-]+) +([\d.e+-]+) +([\d.]+)  ")


def report(stats, **options):
    stream = io.StringIO()
    show_text(stats.timings, stats.unit, stream=stream, **options)
    return stream.getvalue()


def handler_stats(tmp_path, timings=None):
    path = tmp_path / "app.py"
    path.write_text(SOURCE)
    key = (str(path), 4, "handler")
    timings = timings or [(5, 1, 1000), (6, 11, 22000), (7, 10, 50000), (8, 1, 3000)]
    return LineStats({key: timings}, 1e-9), key


def test_layout_column_for_column(tmp_path):
    stats, key = handler_stats(tmp_path)
    text = report(stats, output_unit=1e-6)
    lines = text.splitlines()
    assert lines[0] == "Timer unit: 1e-06 s"
    assert lines[1] == ""
    assert lines[2] == "Total time: 7.6e-05 s"
    assert lines[3] == "File: %s" % key[0]
    assert lines[4] == "Function: handler at line 4"
    assert lines[5] == ""
    assert lines[6] == HEADER
    assert lines[7] == "=" * len(HEADER)
    body = lines[8:13]
    assert [line[:6].strip() for line in body] == ["4", "5", "6", "7", "8"]
    assert body[0].rstrip() == "%6s %9s %12s %8s %8s  %s" % (4, "", "", "", "", "def handler(n):")
    assert body[3] == "%6s %9s %12s %8s %8s  %s" % (7, 10, "50.0", "5.0", "65.8",
                                                    "        total += i")


def test_numbers_add_up(tmp_path):
    stats, _ = handler_stats(tmp_path)
    rows = [ROW.match(line) for line in report(stats, output_unit=1e-6).splitlines()]
    rows = [row.groups() for row in rows if row]
    assert len(rows) == 4
    times = {int(r[0]): float(r[2]) for r in rows}
    assert times == {5: 1.0, 6: 22.0, 7: 50.0, 8: 3.0}
    assert abs(sum(float(r[4]) for r in rows) - 100.0) < 0.3
    for lineno, hits, time, per_hit, _ in rows:
        assert abs(float(per_hit) - float(time) / int(hits)) < 0.06


def test_huge_numbers_keep_rows_aligned(tmp_path):
    stats, _ = handler_stats(tmp_path, [(5, 10 ** 12, 10 ** 18), (6, 1, 1)])
    lines = report(stats).splitlines()
    table = [line for line in lines if line[:6].strip().isdigit() or line.startswith("Line #")]
    contents_at = {line.index("def handler") for line in table if "def handler" in line}
    assert len(contents_at) == 1
    widths = {len(line.split("  total")[0]) for line in table if "total = 0" in line}
    assert table[0].index("Line Contents") == list(contents_at)[0]
    assert widths


def test_missing_source_gives_the_notice_and_the_rows():
    stats = LineStats({("/nowhere/gone.py", 3, "f"): [(4, 2, 10)]}, 1e-9)
    text = report(stats)
    assert "Could not find file /nowhere/gone.py" in text
    assert "Continuing without the function's contents." in text
    assert any(line.startswith("     4         2") for line in text.splitlines())


def test_stripzeros_summarize_and_sort(tmp_path):
    stats, key = handler_stats(tmp_path)
    empty_key = (key[0], 1, "never_called")
    cheap_key = (key[0], 2, "cheap")
    stats.timings[empty_key] = []
    stats.timings[cheap_key] = [(2, 1, 5)]
    text = report(stats, stripzeros=True)
    assert "never_called" not in text
    summary = report(stats, details=False, summarize=True, stripzeros=True).splitlines()
    assert summary[2:] == ["  0.00 seconds - %s:2 - cheap" % key[0],
                           "  0.00 seconds - %s:4 - handler" % key[0]]
    assert "never_called" in report(stats, details=False, summarize=True)
    ordered = report(stats, sort=True)
    assert ordered.index("Function: cheap") < ordered.index("Function: handler")
    assert ordered.index("Function: never_called") < ordered.index("Function: cheap")


# ---- own time, from the call graph ---------------------------------------------

def blocks(text):
    """The functions' blocks of a report, each its lines from "Total time:" on."""
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith("Total time: ")]
    return [lines[start:end] for start, end in zip(starts, starts[1:] + [len(lines)])]


def block_of(text, name):
    (block,) = [block for block in blocks(text) if "Function: %s at line" % name in block[2]]
    return block


def own_report(stats, **options):
    stream = io.StringIO()
    show_text(stats.timings, stats.unit, stream=stream, edges=stats.edges, **options)
    return stream.getvalue()


def test_a_caller_gets_its_own_time_line_a_leaf_does_not(primes_stats):
    stats, keys = primes_stats
    caller, leaf = keys["primes_below"], keys["is_prime"]
    (edge,) = stats.edges
    assert edge[0] == caller and edge[2] == leaf
    calls, edge_time = stats.edges[edge]
    assert calls == 60000                             # primes_below(60000)
    text = own_report(stats, output_unit=1e-6)

    # The caller: line_profiler's three lines, then its own time and the
    # time of its profiled callees, which add up to its total.
    block = block_of(text, "primes_below")
    total = stats.total_time(caller)
    own = stats.own_time(caller)
    assert block[0] == "Total time: %g s" % total
    assert block[1] == "File: %s" % caller[0]
    assert block[2] == "Function: primes_below at line 14"
    assert block[3] == ("Own time: %g s (excluding %g s in the profiled functions it called)"
                        % (own, edge_time * stats.unit))
    assert 0 < own < total
    assert abs(own + edge_time * stats.unit - total) < 1e-9
    assert block[4] == "" and block[5] == HEADER and block[6] == "=" * len(HEADER)
    # The calling line's time holds the callee's calls.
    calling_line = {lineno: time for lineno, _, time in stats.timings[caller]}[edge[1]]
    assert calling_line >= edge_time

    # The leaf: line_profiler's header as it was.
    block = block_of(text, "is_prime")
    assert block[0] == "Total time: %g s" % stats.total_time(leaf)
    assert block[1:4] == ["File: %s" % leaf[0], "Function: is_prime at line 4", ""]
    assert block[4] == HEADER
    assert text.count("Own time: ") == 1

    # The rows are the same with the call graph as without it.
    without = report(stats, output_unit=1e-6)
    assert [line for line in text.splitlines() if not line.startswith("Own time: ")] \
        == without.splitlines()


RECURSIVE = """\
def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


def outer():
    total = 0
    for _ in range(20):
        total += fact(30)
    return total
"""


def test_direct_recursion_alone_adds_no_own_time_line(tmp_path, monkeypatch):
    # fact's recursive calls are edges with calls but no time (the outer
    # frame is paused meanwhile): its own time is its total, as the header.
    (tmp_path / "recursive_module.py").write_text(RECURSIVE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("recursive_module")
    del sys.modules["recursive_module"]
    # Without compensation, as primes_stats: an overshooting calibration (as
    # under a sanitizer) can take the fact calls' time to zero.
    profiler = lineprof.LineProfiler(module.fact, module.outer, compensation=False)
    profiler.runcall(module.outer)
    stats = profiler.get_stats()
    keys = {key[2]: key for key in stats.timings}
    assert stats.edges[(keys["fact"], 4, keys["fact"])] == (20 * 29, 0)
    assert stats.own_time(keys["fact"]) == stats.total_time(keys["fact"])
    text = own_report(stats)
    assert not any(line.startswith("Own time") for line in block_of(text, "fact"))
    assert block_of(text, "outer")[3].startswith(
        "Own time: %g s (excluding " % stats.own_time(keys["outer"]))


def test_a_profile_without_edges_has_line_profilers_headers(primes_stats):
    stats, _ = primes_stats
    old = LineStats(stats.timings, stats.unit)        # as an older file or line_profiler's
    for options in ({}, {"sort": True}, {"details": False, "summarize": True},
                    {"summarize": True, "stripzeros": True}):
        text = own_report(old, **options)
        assert "Own time" not in text
        assert text == report(old, **options)
    stream = io.StringIO()
    old.print(stream=stream)
    assert "Own time" not in stream.getvalue()


def test_summary_keeps_line_profilers_lines_with_edges(primes_stats):
    # --summarize stays one line_profiler line per function, its total time.
    stats, keys = primes_stats
    summary = own_report(stats, details=False, summarize=True).splitlines()
    assert summary[2:] == ["%6.2f seconds - %s:%s - %s" % (stats.total_time(key), *key)
                           for key in sorted(stats.timings)]
    assert summary == report(stats, details=False, summarize=True).splitlines()


def test_own_time_line_follows_the_missing_source_notice(primes_stats, tmp_path):
    stats, keys = primes_stats
    os.remove(str(tmp_path / "primes.py"))
    (block,) = [block for block in blocks(own_report(stats))
                if any(line.startswith("Own time: ") for line in block)]
    assert block[0] == "Total time: %g s" % stats.total_time(keys["primes_below"])
    assert block[1] == ""
    assert block[2] == "Could not find file %s" % keys["primes_below"][0]
    notice_end = block.index("Continuing without the function's contents.")
    assert block[notice_end + 1].startswith("Own time: %g s (excluding "
                                            % stats.own_time(keys["primes_below"]))


# ---- the viewer ----------------------------------------------------------------

def test_viewer_prints_and_sums_files(tmp_path):
    stats, _ = handler_stats(tmp_path)
    dump_stats(stats, str(tmp_path / "a.lprof"))
    dump_stats(stats, str(tmp_path / "b.lprof"))
    one = run_python(["-m", "lineprof", "a.lprof"], tmp_path)
    assert one.returncode == 0, one.stderr
    assert "Function: handler at line 4" in one.stdout
    assert "Timer unit: 1e-06 s" in one.stdout      # kernprof -v's unit, line_profiler's
    both = run_python(["-m", "lineprof", "show", "a.lprof", "b.lprof", "-u", "1e-3"], tmp_path)
    assert both.returncode == 0, both.stderr
    assert "Timer unit: 0.001 s" in both.stdout
    assert re.search(r"^ +7 +20 ", both.stdout, re.M)


def test_viewer_options(tmp_path):
    stats, key = handler_stats(tmp_path)
    stats.timings[(key[0], 1, "never_called")] = []
    dump_stats(stats, str(tmp_path / "a.lprof"))
    result = run_python(["-m", "lineprof", "-z", "--sort", "--summarize", "a.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Function: never_called" not in result.stdout
    assert result.stdout.rstrip().endswith("seconds - %s:4 - handler" % key[0])


def test_viewer_bad_input_gets_one_clear_line(tmp_path):
    (tmp_path / "empty.lprof").write_bytes(b"")
    (tmp_path / "noise.lprof").write_bytes(bytes(range(256)))
    (tmp_path / "future.lprof").write_bytes(b'LINEPROF 99\n{}')
    (tmp_path / "folder").mkdir()
    for args in (["missing.lprof"], ["folder"], ["empty.lprof"], ["noise.lprof"],
                 ["future.lprof"], ["--frobnicate", "x.lprof"], []):
        result = run_python(["-m", "lineprof"] + args, tmp_path)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stdout + result.stderr, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lineprof: "), (args, result.stderr)
