"""`from lineprof import profile` under plain python."""
import os
import sys

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
    # As line_profiler 5 prints them: the files relative to the current folder.
    assert "Wrote profile results to profile_output.lprof" in result.stdout
    assert "Wrote profile results to profile_output.txt" in result.stdout
    assert "Wrote profile results to profile_output_2" in result.stdout   # timestamped
    assert "%s -m lineprof -rtmz profile_output.lprof" % sys.executable in result.stdout
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


EXPLICIT = '''\
import sys
from lineprof import profile

if "--custom" in sys.argv:
    profile.enable(output_prefix="custom")


@profile
def first():
    return sum(range(10))


profile.disable()


@profile
def second():
    return sum(range(10))


print(hasattr(first, "__wrapped__"), hasattr(second, "__wrapped__"))
first()
second()
'''


def test_enable_with_a_prefix_and_disable(tmp_path):
    (tmp_path / "explicit.py").write_text(EXPLICIT)
    result = run_python(["explicit.py", "--custom"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "True False" in result.stdout        # decorated after disable(): untouched
    assert "Wrote profile results to custom.lprof" in result.stdout
    names = sorted(name for name in os.listdir(str(tmp_path)) if name.startswith("custom"))
    assert names[:2] == ["custom.lprof", "custom.txt"] and names[2].startswith("custom_")
    stats = lineprof.load_stats(str(tmp_path / "custom.lprof"))
    assert [key[2] for key in stats.timings] == ["first"]
    # Without enable() and without a flag: nothing.
    result = run_python(["explicit.py"], tmp_path)
    assert "False False" in result.stdout and "Wrote" not in result.stdout


def test_line_profilers_command_line_flag_and_write_settings(tmp_path):
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.line_profiler.write]\noutput_prefix = 'prof'\ntimestamped_text = false\n"
        "text = false\n")
    result = run_python(["script.py", "--line-profile"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "is work wrapped: True" in result.stdout
    assert sorted(os.listdir(str(tmp_path))) == ["prof.lprof", "pyproject.toml", "script.py"]
    # LINE_PROFILER_RC names the file wherever it is.
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "script.py").write_text(SCRIPT)
    result = run_python(["script.py"], other, env={
        "LINE_PROFILE": "1", "LINE_PROFILER_RC": str(tmp_path / "pyproject.toml")})
    assert sorted(os.listdir(str(other))) == ["prof.lprof", "script.py"]


def test_line_profilers_show_settings(tmp_path):
    # [tool.line_profiler.show]: what is printed at exit (the report itself
    # with details, no summary), and column_widths, the least widths of the
    # report's columns, in the printed report and the text file alike; a
    # width below line_profiler's is ignored.
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.line_profiler.write]\ntimestamped_text = false\n"
        "[tool.line_profiler.show]\ndetails = true\nsummarize = false\nrich = false\n"
        "[tool.line_profiler.show.column_widths]\nhits = 15\nline = 2\n")
    result = run_python(["script.py"], tmp_path, env={"LINE_PROFILE": "1"})
    assert result.returncode == 0, result.stderr
    header = "Line # %s %s" % ("Hits".rjust(15), "Time".rjust(12))
    assert header in result.stdout
    assert " seconds - " not in result.stdout
    text = (tmp_path / "profile_output.txt").read_text()
    assert header in text and " seconds - " not in text
    # The defaults: the summary only.
    (tmp_path / "pyproject.toml").write_text("[tool.line_profiler.write]\ntext = false\n"
                                             "timestamped_text = false\n")
    result = run_python(["script.py"], tmp_path, env={"LINE_PROFILE": "1"})
    assert " seconds - " in result.stdout and "Line #" not in result.stdout
