"""The viewer (python -m lineprof) as line_profiler 5.1's users type it."""
import runpy
import sys

import pytest

import lineprof
from conftest import run_python
from test_kernprof import write

PROGRAM = '''\
@profile
def slow():
    total = 0
    for i in range(2000):
        total += i
    return total


@profile
def never():
    return "\u2200 x \u2208 \u211d"


slow()
'''


@pytest.fixture
def profiled(tmp_path, kernprof):
    write(tmp_path, "prog.py", PROGRAM)
    result = kernprof("-l", "prog.py")
    assert result.returncode == 0, result.stderr
    return tmp_path / "prog.py.lprof"


def test_short_flags_bundled_as_line_profilers_viewer(profiled, tmp_path):
    # -m summarize, -t sort, -z skip zero: -rmtz as its README shows (rich
    # is plain text off a terminal).
    bundled = run_python(["-m", "lineprof", "-mtz", "prog.py.lprof"], tmp_path)
    spelled = run_python(["-m", "lineprof", "--summarize", "--sort", "--skip-zero",
                          "prog.py.lprof"], tmp_path)
    assert bundled.returncode == 0, bundled.stderr
    assert bundled.stdout == spelled.stdout
    assert "Function: slow" in bundled.stdout and "Function: never" not in bundled.stdout
    assert bundled.stdout.rstrip().splitlines()[-1].endswith(" - slow")    # the summary
    assert run_python(["-m", "lineprof", "-rmtz", "prog.py.lprof"], tmp_path).returncode == 0


def summarized(result):
    """Whether the report ends with the summary (a line per function)."""
    assert result.returncode == 0, result.stderr
    return any(" seconds - " in line and line.endswith(" - slow")
               for line in result.stdout.splitlines())


@pytest.mark.parametrize("flags, summary", [
    (["--summarize"], True), (["--summarize", "yes"], True), (["--summarize=1"], True),
    (["--summarize", "off"], False), (["--summarize=no"], False), (["--no-summarize"], False),
    (["-m", "--no-summarize"], False), (["--no-summarize", "-m"], True),
])
def test_on_off_options_take_values_and_negations(profiled, tmp_path, flags, summary):
    # As line_profiler 5's viewer: before or after the file.
    for argv in (flags + ["prog.py.lprof"], ["prog.py.lprof"] + flags):
        assert summarized(run_python(["-m", "lineprof"] + argv, tmp_path)) == summary


def test_a_bare_on_off_option_does_not_take_the_file(profiled, tmp_path):
    for flag in ("--rich", "--sort", "--skip-zero", "--summarize"):
        result = run_python(["-m", "lineprof", flag, "prog.py.lprof"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Function: slow" in result.stdout


def test_a_negation_turns_off_a_configured_default(profiled, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.lineprof]\nsummarize = true\nskip-zero = true\nsort = true\n")
    configured = run_python(["-m", "lineprof", "prog.py.lprof"], tmp_path)
    assert summarized(configured) and "Function: never" not in configured.stdout
    turned_off = run_python(["-m", "lineprof", "prog.py.lprof", "--no-summarize",
                             "--skip-zero", "off"], tmp_path)
    assert not summarized(turned_off) and "Function: never" in turned_off.stdout


def test_a_value_that_is_not_on_or_off_is_one_line(profiled, tmp_path):
    result = run_python(["-m", "lineprof", "prog.py.lprof", "--rich=maybe"], tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "maybe" in result.stderr


def test_c_names_the_configuration(profiled, tmp_path):
    (tmp_path / "conf.toml").write_text("[tool.lineprof]\nunit = 1e-3\n")
    result = run_python(["-m", "lineprof", "-c", "conf.toml", "prog.py.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Timer unit: 0.001 s")


def test_version():
    for flag in ("-V", "--version"):
        result = run_python(["-m", "lineprof", flag], ".")
        assert result.returncode == 0
        assert result.stdout == "lineprof %s\n" % lineprof.__version__


def test_the_viewer_through_runpy_returns(profiled, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["lineprof", str(profiled)])
    runpy.run_module("lineprof", run_name="__main__")     # no SystemExit(0)
    assert "Function: slow" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["lineprof", str(profiled) + ".missing"])
    with pytest.raises(SystemExit) as failure:
        runpy.run_module("lineprof", run_name="__main__")
    assert failure.value.code == 1


def test_a_source_the_output_cannot_encode_is_escaped(profiled, tmp_path):
    result = run_python(["-m", "lineprof", "prog.py.lprof"], tmp_path,
                        env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert 'return "\\u2200 x \\u2208 \\u211d"' in result.stdout
    # kernprof -v writes the same report.
    verbose = run_python(["-m", "kernprof", "-l", "-v", "prog.py"], tmp_path,
                         env={"PYTHONIOENCODING": "ascii"})
    assert verbose.returncode == 0, verbose.stderr
    assert 'return "\\u2200 x \\u2208 \\u211d"' in verbose.stdout


def test_lineprof_kernprof_runs_lineprofs_kernprof(tmp_path):
    write(tmp_path, "prog.py", PROGRAM)
    result = run_python(["-m", "lineprof", "kernprof", "-l", "-v", "prog.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Function: slow" in result.stdout
    version = run_python(["-m", "lineprof", "kernprof", "--version"], tmp_path)
    assert "lineprof" in version.stdout
    failing = tmp_path / "fails.py"
    failing.write_text("raise SystemExit(3)\n")
    assert run_python(["-m", "lineprof", "kernprof", "fails.py"], tmp_path).returncode == 3
