"""[tool.lineprof] defaults in pyproject.toml, --config and --no-config."""
import sys

import pytest

from test_kernprof import SCRIPT, assert_one_line_error, write

needs_toml = pytest.mark.skipif(
    sys.version_info < (3, 11) and not __import__("importlib").util.find_spec("tomli"),
    reason="reading TOML before 3.11 needs tomli, which the test environment installs")


@needs_toml
def test_pyproject_defaults_and_command_line_overrides(tmp_path, kernprof):
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n\n[tool.lineprof]\n"
                                      "line-by-line = true\nview = true\nunit = 1e-3\n")
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("script.py")
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 0.001 s" in result.stdout       # -l -v -u 1e-3 from the file
    assert (tmp_path / "script.py.lprof").exists()

    result = kernprof("-u", "1e-6", "script.py")            # the command line wins
    assert "Timer unit: 1e-06 s" in result.stdout

    result = kernprof("--no-config", "script.py")            # cProfile, no view
    assert "Timer unit" not in result.stdout
    assert (tmp_path / "script.py.prof").exists()


@needs_toml
def test_the_nearest_pyproject_is_used_and_the_viewer_reads_it(tmp_path, kernprof):
    write(tmp_path, "pyproject.toml", "[tool.lineprof]\nskip_zero = true\nunit = 1\n")
    sub = tmp_path / "deep" / "er"
    write(tmp_path, "deep/er/script.py", SCRIPT + "\n@profile\ndef unused():\n    pass\n")
    from conftest import run_python
    result = run_python(["-m", "kernprof", "-l", "-v", "script.py"], sub)
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 1 s" in result.stdout and "unused" not in result.stdout
    result = run_python(["-m", "lineprof", "script.py.lprof"], sub)
    assert "Timer unit: 1 s" in result.stdout and "unused" not in result.stdout


@needs_toml
def test_explicit_config_file_and_prof_mod_list(tmp_path, kernprof):
    write(tmp_path, "helpers.py", "def double(x):\n    return 2 * x\n")
    write(tmp_path, "run.py", "import helpers\nprint(helpers.double(4))\n")
    write(tmp_path, "settings.toml", "[tool.lineprof]\nprof-mod = ['helpers']\nview = true\n")
    result = kernprof("--config", "settings.toml", "run.py")
    assert result.returncode == 0, result.stderr
    assert "Function: double at line 1" in result.stdout


@needs_toml
def test_unknown_key_or_bad_value_is_one_line_naming_it(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    write(tmp_path, "pyproject.toml", "[tool.lineprof]\nviwe = true\n")
    result = kernprof("-l", "script.py")
    assert_one_line_error(result)
    assert "'viwe'" in result.stderr
    write(tmp_path, "pyproject.toml", "[tool.lineprof]\nunit = 'fast'\n")
    result = kernprof("-l", "script.py")
    assert_one_line_error(result)
    assert "unit must be a number" in result.stderr
    write(tmp_path, "pyproject.toml", "[tool.lineprof\n")
    assert_one_line_error(kernprof("-l", "script.py"))
    assert_one_line_error(kernprof("--config", "missing.toml", "-l", "script.py"))
    # --no-config ignores even a broken file.
    assert kernprof("--no-config", "-l", "script.py").returncode == 0


def test_without_a_toml_reader_pyproject_is_skipped_with_a_notice(tmp_path, kernprof, without):
    if sys.version_info >= (3, 11):
        pytest.skip("tomllib is part of Python 3.11+: there is always a TOML reader")
    write(tmp_path, "pyproject.toml", "[tool.lineprof]\nview = true\n")
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("-l", "script.py", env=without("tomli"))
    assert result.returncode == 0, result.stderr
    assert "ignoring the configuration in" in result.stderr and "tomli" in result.stderr
    assert "Timer unit" not in result.stdout


# A configuration written for line_profiler 5: its default file's shape.
LINE_PROFILER_CONFIG = """\
[tool.line_profiler.kernprof]
line-by-line = true
builtin = false
rich = false
skip-zero = false
summarize = false
preimports = true
prof-imports = false
verbose = 1
outfile = ""
setup = ""
unit = 1e-3
output-interval = 0
prof-mod = []

[tool.line_profiler.cli]
unit = 1
rich = false
skip-zero = true
sort = false
summarize = true

[tool.line_profiler.write]
output_prefix = 'profile_output'
"""


@needs_toml
@pytest.mark.parametrize("name", ["pyproject.toml", "line_profiler.toml"])
def test_line_profilers_tables_configure_kernprof_and_the_viewer(tmp_path, kernprof, name):
    write(tmp_path, name, LINE_PROFILER_CONFIG)
    write(tmp_path, "script.py", SCRIPT + "\n@profile\ndef unused():\n    pass\n")
    result = kernprof("script.py")                  # -l -v -u 1e-3 from the kernprof table
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 0.001 s" in result.stdout
    from conftest import run_python
    result = run_python(["-m", "lineprof", "script.py.lprof"], tmp_path)   # the cli table
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 1 s" in result.stdout and "unused" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].endswith(" - work")    # summarize


@needs_toml
def test_tool_lineprof_wins_over_line_profilers_tables(tmp_path, kernprof):
    write(tmp_path, "pyproject.toml", LINE_PROFILER_CONFIG + "\n[tool.lineprof]\nunit = 1e-6\n")
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("script.py")
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 1e-06 s" in result.stdout


@needs_toml
def test_config_and_line_profiler_rc_accept_a_file_with_only_line_profilers_tables(tmp_path,
                                                                                   kernprof):
    write(tmp_path, "settings.toml", LINE_PROFILER_CONFIG)
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("--config", "settings.toml", "script.py")
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 0.001 s" in result.stdout
    result = kernprof("script.py", env={"LINE_PROFILER_RC": str(tmp_path / "settings.toml")})
    assert "Timer unit: 0.001 s" in result.stdout
    write(tmp_path, "bad.toml", "[tool.line_profiler.kernprof]\nno-such-option = 1\n")
    assert_one_line_error(kernprof("--config", "bad.toml", "script.py"))
