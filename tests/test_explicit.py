"""`from lineprof import profile` under plain python."""
import os

from conftest import run_python

import lineprof

SCRIPT = '''\
from lineprof import profile

@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total

print("is work wrapped:", hasattr(work, "__wrapped__"))
work(10)
'''


def test_passes_calls_through_untouched_when_off(tmp_path):
    (tmp_path / "script.py").write_text(SCRIPT)
    result = run_python(["script.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "is work wrapped: False" in result.stdout
    assert not (tmp_path / "profile_output.lprof").exists()


def check_profiled_run(tmp_path, variable):
    (tmp_path / "script.py").write_text(SCRIPT)
    result = run_python(["script.py"], tmp_path, env={variable: "1"})
    assert result.returncode == 0, result.stderr
    assert "is work wrapped: True" in result.stdout
    assert "Wrote profile results to %s" % (tmp_path / "profile_output.lprof") in result.stdout
    assert "Wrote profile results to %s" % (tmp_path / "profile_output.txt") in result.stdout
    # Python 3.8 keeps the script's path as given, 3.9+ makes it absolute.
    assert "script.py:3 - work" in result.stdout
    stats = lineprof.load_stats(str(tmp_path / "profile_output.lprof"))
    ((filename, first, name), rows), = stats.timings.items()
    assert (os.path.basename(filename), first, name) == ("script.py", 3, "work")
    assert {lineno: hits for lineno, hits, _ in rows} == {5: 1, 6: 11, 7: 10, 8: 1}
    assert "Function: work at line 3" in (tmp_path / "profile_output.txt").read_text()


def test_lineprof_environment_variable(tmp_path):
    check_profiled_run(tmp_path, "LINEPROF")


def test_line_profilers_environment_variable(tmp_path):
    check_profiled_run(tmp_path, "LINE_PROFILE")
