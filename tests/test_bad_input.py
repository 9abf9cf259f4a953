"""Every command, given bad input, prints one clear line and exits non-zero."""
import pytest

from conftest import run_python
from test_kernprof import SCRIPT, assert_one_line_error, write

VIEWER_COMMANDS = [["show"], ["html"], ["callgrind"], ["pstats"], ["json"], ["merge", "-o", "m.lprof"]]


@pytest.fixture
def folder(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    assert kernprof("-l", "script.py").returncode == 0          # a good script.py.lprof
    write(tmp_path, "empty.lprof", "")
    (tmp_path / "adir").mkdir()
    write(tmp_path, "other.lprof", "this is a text file, not a profile\n")
    write(tmp_path, "newer.lprof", 'LINEPROF 99\n{"unit": 1e-9, "functions": []}')
    (tmp_path / "script.prof").write_bytes(b"\xe3\x00\x00")     # a cProfile-like marshal
    return tmp_path


@pytest.mark.parametrize("command", VIEWER_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("bad", ["missing.lprof", "empty.lprof", "adir", "other.lprof",
                                 "newer.lprof", "script.prof"])
def test_viewer_commands_refuse_bad_files(folder, command, bad):
    result = run_python(["-m", "lineprof"] + command + [bad], folder)
    assert_one_line_error(result, prefix="lineprof: ")
    assert result.returncode == 1
    if bad == "newer.lprof":
        assert "newer lineprof" in result.stderr


@pytest.mark.parametrize("command", VIEWER_COMMANDS, ids=lambda c: c[0])
def test_viewer_commands_refuse_unknown_options(folder, command):
    result = run_python(["-m", "lineprof"] + command + ["script.py.lprof", "--no-such"], folder)
    assert_one_line_error(result, prefix="lineprof: ")
    assert result.returncode == 2


@pytest.mark.parametrize("command", [["html", "-o"], ["callgrind", "-o"], ["pstats", "-o"],
                                     ["json", "-o"], ["merge", "-o"]], ids=lambda c: c[0])
def test_viewer_commands_refuse_unwritable_outputs(folder, command):
    # (html makes its folder, parents too, as coverage html does.)
    missing_folder = [] if command[0] == "html" else ["no/such/folder/out"]
    for target in missing_folder + ["/proc/lineprof-cannot-write", "script.py/under-a-file"]:
        result = run_python(["-m", "lineprof", command[0], "script.py.lprof", "-o", target],
                            folder)
        assert_one_line_error(result, prefix="lineprof: ")


@pytest.mark.parametrize("args", [
    ["-l", "missing.py"], ["-l", "adir"], ["-l", "-m", "no_such_module"],
    ["-l", "-o", "no/such/folder/x.lprof", "script.py"], ["-l", "-o", "adir", "script.py"],
    ["--no-such-option", "script.py"], ["-l", "-u", "fast", "script.py"],
    ["-l", "-s", "missing_setup.py", "script.py"],
    ["-l", "--config", "missing.toml", "script.py"],
], ids=lambda a: " ".join(a))
def test_kernprof_refuses_bad_input(folder, kernprof, args):
    assert_one_line_error(kernprof(*args))
