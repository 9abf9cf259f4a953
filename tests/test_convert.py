"""python -m lineprof convert: line_profiler's format, for its viewer."""
import importlib.util
import pickletools

import pytest

import lineprof
from conftest import run_python
from test_kernprof import write

PROGRAM = '''\
@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


work(100)
'''


@pytest.fixture
def profiled(tmp_path, kernprof):
    write(tmp_path, "prog.py", PROGRAM)
    assert kernprof("-l", "prog.py").returncode == 0
    return tmp_path / "prog.py.lprof"


def test_convert_to_line_profiler_and_back(profiled, tmp_path):
    result = run_python(["-m", "lineprof", "convert", "--to", "line_profiler",
                         "prog.py.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    converted = tmp_path / "prog.py.line_profiler.lprof"
    data = converted.read_bytes()
    # A pickle of line_profiler's class and plain data, nothing else.
    globals_named = [arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"]
    assert globals_named == ["line_profiler.line_profiler LineStats"]
    original = lineprof.load_stats(str(profiled))
    back = lineprof.load_stats(str(converted))       # lineprof reads it safely
    assert back.timings == original.timings and back.unit == original.unit
    result = run_python(["-m", "lineprof", "convert", "--to", "lineprof",
                         "prog.py.line_profiler.lprof", "-o", "again.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again.lprof").read_bytes().startswith(b"LINEPROF ")
    assert lineprof.load_stats(str(tmp_path / "again.lprof")).timings == original.timings


@pytest.mark.skipif(importlib.util.find_spec("line_profiler") is None,
                    reason="line_profiler has no wheel for this Python (the nox sessions "
                           "install it where it has)")
def test_line_profilers_viewer_opens_the_converted_file(profiled, tmp_path):
    assert run_python(["-m", "lineprof", "convert", "--to", "line_profiler", "prog.py.lprof",
                       "-o", "shared.lprof"], tmp_path).returncode == 0
    theirs = run_python(["-m", "line_profiler", "-u", "1e-6", "shared.lprof"], tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    ours = run_python(["-m", "lineprof", "prog.py.lprof"], tmp_path)
    rows = [line for line in theirs.stdout.splitlines() if "total += i" in line]
    assert rows and rows[0].split()[:3] == ["5", "100", ours.stdout.split("total += i")[0]
                                            .splitlines()[-1].split()[2]]


def test_convert_needs_a_known_format(profiled, tmp_path):
    result = run_python(["-m", "lineprof", "convert", "--to", "cprofile", "prog.py.lprof"],
                        tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "invalid choice" in result.stderr
