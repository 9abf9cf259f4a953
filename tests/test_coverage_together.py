"""lineprof and coverage.py measuring the same program at the same time."""
import json
import sys

import pytest

from conftest import run_python
from test_kernprof import write

pytest.importorskip("coverage")

PROGRAM = '''\
from lineprof import LineProfiler


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def after():
    return "after"


profiler = LineProfiler()
profiler(work)(5)
after()
(rows,) = profiler.get_stats().timings.values()
print("hits", sorted((line, hits) for line, hits, _ in rows))
'''


def run_under_coverage(tmp_path, core=None):
    write(tmp_path, "prog.py", PROGRAM)
    env = {"COVERAGE_CORE": core} if core else {}
    result = run_python(["-m", "coverage", "run", "prog.py"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = run_python(["-m", "coverage", "json", "-o", "cov.json"], tmp_path)
    assert report.returncode == 0, report.stderr
    covered = json.loads((tmp_path / "cov.json").read_text())["files"]["prog.py"]
    return result, set(covered["executed_lines"])


EXACT_HITS = "hits [(5, 1), (6, 6), (7, 5), (8, 1)]"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+; "
                    "3.8-3.11 is the next test")
@pytest.mark.parametrize("core", [None, "sysmon"])
def test_both_measure_everything_on_312(tmp_path, core):
    result, executed = run_under_coverage(tmp_path, core)
    assert EXACT_HITS in result.stdout
    assert "lineprof:" not in result.stderr
    # coverage saw the profiled function's lines too.
    assert {5, 6, 7, 8, 12, 16, 17} <= executed


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ is the test above")
def test_coverage_is_paused_inside_the_profiled_call_before_312(tmp_path):
    result, executed = run_under_coverage(tmp_path)
    assert EXACT_HITS in result.stdout
    assert result.stderr.count("lineprof: another trace function") == 1
    # coverage measured the rest of the program, before and after the call.
    assert {1, 15, 16, 17, 12} <= executed
    assert not {5, 6, 7, 8} & executed
