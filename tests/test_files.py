"""The .lprof format, the restricted reader of line_profiler's pickles, and
LineStats arithmetic."""
import io
import json
import os
import pickle
import sys
import types

import pytest

from lineprof import LineStats, LprofFormatError, dump_stats, load_stats
from lineprof import datafile

KEY = ("/src/app.py", 10, "handler")
OTHER = ("/src/app.py", 30, "Helper.run")


def sample_stats():
    return LineStats({KEY: [(11, 3, 1500), (12, 1, 20)], OTHER: [(31, 2, 7)]}, 1e-9,
                     code_hashes={KEY: "abc123"}, metadata={"python": "3.x", "argv": ["a"]})


def test_round_trip_keeps_everything(tmp_path):
    path = str(tmp_path / "run.lprof")
    original = sample_stats()
    dump_stats(original, path)
    loaded = load_stats(path)
    assert loaded == original
    assert loaded.timings == original.timings
    assert loaded.code_hashes == original.code_hashes
    assert loaded.metadata == original.metadata


def test_the_documented_layout(tmp_path):
    path = tmp_path / "run.lprof"
    dump_stats(sample_stats(), str(path))
    data = path.read_bytes()
    assert data.startswith(b"LINEPROF 1\n")
    document = json.loads(data.split(b"\n", 1)[1])
    assert set(document) == {"unit", "metadata", "functions"}
    function = [f for f in document["functions"] if f["name"] == "handler"][0]
    assert function == {"file": "/src/app.py", "line": 10, "name": "handler",
                        "code_hash": "abc123", "calls": None,
                        "lines": [[11, 3, 1500], [12, 1, 20]]}


def test_a_newer_format_is_refused_naming_both_versions(tmp_path):
    path = tmp_path / "new.lprof"
    path.write_bytes(b'LINEPROF 7\n{"unit": 1e-9, "functions": []}')
    with pytest.raises(LprofFormatError, match="format 7.*format 1"):
        load_stats(str(path))


def bad_documents():
    good = {"unit": 1e-9, "metadata": {}, "functions": [
        {"file": "f.py", "line": 1, "name": "f", "code_hash": None, "lines": [[2, 1, 5]]}]}
    yield good, None
    for path, value in [(("unit",), "x"), (("unit",), -1), (("functions",), {}),
                        (("functions", 0, "lines"), "no"), (("functions", 0, "lines", 0), [2, "1", 5]),
                        (("functions", 0, "lines", 0), [2, -1, 5]), (("functions", 0, "line"), "1"),
                        (("functions", 0, "lines", 0), [2, 1]), (("metadata",), [])]:
        document = json.loads(json.dumps(good))
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        yield document, path


@pytest.mark.parametrize("document,broken", list(bad_documents()))
def test_wrong_types_are_refused(tmp_path, document, broken):
    path = tmp_path / "doc.lprof"
    path.write_bytes(b"LINEPROF 1\n" + json.dumps(document).encode())
    if broken is None:
        assert load_stats(str(path)).timings == {("f.py", 1, "f"): [(2, 1, 5)]}
    else:
        with pytest.raises(LprofFormatError) as error:
            load_stats(str(path))
        assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_missing_empty_directory_garbage_and_every_truncation(tmp_path):
    path = str(tmp_path / "run.lprof")
    dump_stats(sample_stats(), path)
    data = open(path, "rb").read()
    cases = {"missing": None, "empty": b"", "garbage": os.urandom(300),
             "text": b"hello world\n"}
    for name, content in cases.items():
        target = tmp_path / name
        if content is not None:
            target.write_bytes(content)
        with pytest.raises(LprofFormatError, match="^%s: " % str(target)):
            load_stats(str(target))
    with pytest.raises(LprofFormatError, match="directory"):
        load_stats(str(tmp_path))
    truncated = tmp_path / "truncated.lprof"
    for size in range(len(data)):
        truncated.write_bytes(data[:size])
        with pytest.raises(LprofFormatError):
            load_stats(str(truncated))


def test_a_hundred_thousand_lines(tmp_path):
    timings = {("big.py", 1 + 1000 * f, "f%d" % f): [(1000 * f + i, i, 10 * i) for i in range(1000)]
               for f in range(100)}
    stats = LineStats(timings, 1e-9)
    path = str(tmp_path / "big.lprof")
    dump_stats(stats, path)
    assert load_stats(path) == stats


def test_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "run.lprof"
    dump_stats(sample_stats(), str(path))
    before = path.read_bytes()

    def failing_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datafile.os, "replace", failing_replace)
    with pytest.raises(OSError):
        dump_stats(LineStats({KEY: [(11, 99, 99)]}, 1e-9), str(path))
    assert path.read_bytes() == before
    assert os.listdir(str(tmp_path)) == ["run.lprof"]


# ---- line_profiler's pickles -------------------------------------------------

def line_profiler_pickle(timings, unit, protocol, module="line_profiler.line_profiler"):
    """Bytes shaped like a .lprof file written by line_profiler."""
    fake = types.ModuleType(module)

    class LineStats_:
        def __init__(self, timings, unit):
            self.timings, self.unit = timings, unit

    LineStats_.__name__ = LineStats_.__qualname__ = "LineStats"
    LineStats_.__module__ = module
    fake.LineStats = LineStats_
    # pickle imports the module (and its package) to check the class: stand
    # fakes in for both while it does.
    names = {module, module.split(".")[0]}
    saved = {name: sys.modules.get(name) for name in names}
    for name in names:
        sys.modules[name] = fake
    try:
        return pickle.dumps(LineStats_(timings, unit), protocol=protocol)
    finally:
        for name, previous in saved.items():
            if previous is None:
                del sys.modules[name]
            else:
                sys.modules[name] = previous


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("module", ["line_profiler.line_profiler", "line_profiler"])
def test_line_profiler_files_are_read(tmp_path, protocol, module):
    timings = {KEY: [(11, 3, 1.5), (12, 1, 20)]}
    path = tmp_path / "theirs.lprof"
    path.write_bytes(line_profiler_pickle(timings, 1e-6, protocol, module))
    stats = load_stats(str(path))
    assert stats.unit == 1e-6
    assert stats.timings == {KEY: [(11, 3, 2), (12, 1, 20)]}


def test_a_file_really_written_by_line_profiler(tmp_path):
    line_profiler = pytest.importorskip("line_profiler")

    def traced(n):
        return n + 1

    profiler = line_profiler.LineProfiler(traced)
    profiler.runcall(traced, 1)
    path = str(tmp_path / "real.lprof")
    profiler.dump_stats(path)
    theirs = profiler.get_stats()
    ours = load_stats(path)
    assert ours.unit == theirs.unit
    assert {key[:2]: [(l, h) for l, h, _ in rows] for key, rows in ours.timings.items()} == \
        {key[:2]: [(l, h) for l, h, _ in rows] for key, rows in theirs.timings.items()}


class RunsCode:
    def __init__(self, call, argument):
        self.call, self.argument = call, argument

    def __reduce__(self):
        return (self.call, (self.argument,))


@pytest.mark.parametrize("attack", ["os.system", "eval", "nested"])
def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, attack):
    marker = tmp_path / "pwned"
    command = "touch %s" % marker
    if attack == "os.system":
        payload = pickle.dumps(RunsCode(os.system, command))
    elif attack == "eval":
        payload = pickle.dumps(RunsCode(eval, "__import__('os').system(%r)" % command))
    else:
        payload = line_profiler_pickle({KEY: [RunsCode(os.system, command)]}, 1e-6, 4)
    path = tmp_path / "evil.lprof"
    path.write_bytes(payload)
    with pytest.raises(LprofFormatError, match="refused|damaged|not line_profiler"):
        load_stats(str(path))
    assert not marker.exists()


# ---- LineStats ---------------------------------------------------------------

def test_addition_sums_the_same_lines_and_merges_others():
    first = LineStats({KEY: [(11, 1, 100), (12, 2, 200)]}, 1e-9)
    second = LineStats({KEY: [(12, 1, 50), (13, 4, 400)], OTHER: [(31, 1, 1)]}, 1e-9)
    total = first + second
    assert total.timings == {KEY: [(11, 1, 100), (12, 3, 250), (13, 4, 400)],
                             OTHER: [(31, 1, 1)]}
    assert first.timings == {KEY: [(11, 1, 100), (12, 2, 200)]}     # unchanged
    first += second
    assert first == total


def test_addition_converts_to_the_finer_unit():
    micro = LineStats({KEY: [(11, 1, 3)]}, 1e-6)
    nano = LineStats({KEY: [(11, 2, 500)]}, 1e-9)
    for total in (micro + nano, nano + micro):
        assert total.unit == 1e-9
        assert total.timings == {KEY: [(11, 3, 3500)]}


def test_from_files_sums_them(tmp_path):
    paths = []
    for index in range(3):
        path = str(tmp_path / ("%d.lprof" % index))
        dump_stats(sample_stats(), path)
        paths.append(path)
    total = LineStats.from_files(*paths)
    assert total.timings[KEY] == [(11, 9, 4500), (12, 3, 60)]


def test_print_and_repr():
    stream = io.StringIO()
    sample_stats().print(stream=stream)
    assert stream.getvalue().startswith("Timer unit: 1e-09 s")
    assert repr(sample_stats()) == "<LineStats: 2 functions, 3 lines, unit 1e-09 s>"
