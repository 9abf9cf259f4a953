"""Merging runs: `lineprof merge` and LineStats addition."""
import lineprof
from lineprof import LineStats

from conftest import run_python

KEY = ("/src/app.py", 3, "work")
OTHER = ("/src/app.py", 20, "helper")


def test_the_same_lines_add_up_exactly_and_other_functions_are_kept():
    first = LineStats({KEY: [(4, 1, 100), (5, 10, 2000)]}, 1e-9, {KEY: "aaaa"})
    second = LineStats({KEY: [(5, 5, 700), (6, 1, 30)], OTHER: [(21, 2, 40)]}, 1e-9,
                       {KEY: "aaaa", OTHER: "bbbb"})
    total = first + second
    assert total.timings == {KEY: [(4, 1, 100), (5, 15, 2700), (6, 1, 30)],
                             OTHER: [(21, 2, 40)]}
    assert total.changed_sources == []
    # + leaves its operands alone.
    assert first.timings == {KEY: [(4, 1, 100), (5, 10, 2000)]}


def test_units_are_converted_to_the_finer_one():
    microseconds = LineStats({KEY: [(4, 2, 3)]}, 1e-6, {KEY: "aaaa"})
    nanoseconds = LineStats({KEY: [(4, 1, 500)]}, 1e-9, {KEY: "aaaa"})
    for total in (microseconds + nanoseconds, nanoseconds + microseconds):
        assert total.unit == 1e-9
        assert total.timings == {KEY: [(4, 3, 3500)]}


def test_a_function_whose_source_changed_is_kept_apart_and_reported():
    before = LineStats({KEY: [(4, 1, 100)]}, 1e-9, {KEY: "aaaa1111"})
    after = LineStats({KEY: [(4, 7, 900)]}, 1e-9, {KEY: "bbbb2222"})
    again = LineStats({KEY: [(4, 1, 50)]}, 1e-9, {KEY: "bbbb2222"})
    total = before + after + again
    apart = ("/src/app.py", 3, "work [source bbbb2222]")
    assert total.timings == {KEY: [(4, 1, 100)], apart: [(4, 8, 950)]}
    assert total.changed_sources == [(KEY, apart)]
    assert total.code_hashes == {KEY: "aaaa1111", apart: "bbbb2222"}


def test_merge_command_writes_the_sum(tmp_path):
    paths = []
    for index, stats in enumerate([
            LineStats({KEY: [(4, 1, 100)]}, 1e-9, {KEY: "aaaa"}),
            LineStats({KEY: [(4, 2, 3)], OTHER: [(21, 1, 1)]}, 1e-6, {KEY: "aaaa"}),
            LineStats({KEY: [(4, 5, 5)]}, 1e-9, {KEY: "cccc"})]):
        path = tmp_path / ("run%d.lprof" % index)
        stats.to_file(str(path))
        paths.append(path.name)
    result = run_python(["-m", "lineprof", "merge"] + paths + ["-o", "all.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Merged 3 files into all.lprof" in result.stdout
    assert result.stderr.strip() == ("lineprof: work (/src/app.py:3) changed between runs; "
                                     "kept apart as 'work [source cccc]'")
    merged = lineprof.load_stats(str(tmp_path / "all.lprof"))
    assert merged.unit == 1e-9
    assert merged.timings == {KEY: [(4, 3, 3100)], OTHER: [(21, 1, 1000)],
                              ("/src/app.py", 3, "work [source cccc]"): [(4, 5, 5)]}
    assert merged.metadata["merged_from"] == [str(tmp_path / name) for name in paths]
    # A merged file merges again: the version kept apart sums with itself.
    result = run_python(["-m", "lineprof", "merge", "all.lprof", "all.lprof", "-o", "twice.lprof"],
                        tmp_path)
    assert result.returncode == 0, result.stderr
    twice = lineprof.load_stats(str(tmp_path / "twice.lprof"))
    assert twice.timings[("/src/app.py", 3, "work [source cccc]")] == [(4, 10, 10)]


def test_every_command_has_help_and_bad_input_is_one_line(tmp_path):
    for command in ("show", "html", "callgrind", "pstats", "json", "merge"):
        result = run_python(["-m", "lineprof", command, "--help"], tmp_path)
        assert result.returncode == 0 and "usage: python -m lineprof %s" % command in result.stdout
    overview = run_python(["-m", "lineprof", "--help"], tmp_path)
    assert all(command in overview.stdout for command in ("html", "callgrind", "merge"))
    for args in (["merge", "missing.lprof", "-o", "x.lprof"], ["merge", "missing.lprof"], []):
        result = run_python(["-m", "lineprof"] + args, tmp_path)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
