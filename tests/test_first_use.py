"""What a new user meets first (issue 11): file modes, the source folder, the
unit of the times shown, runs that profiled nothing, colours on a light
terminal, kernprof without arguments."""
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from conftest import REPO, run_python
from test_kernprof import SCRIPT, assert_one_line_error, write
from test_rich_and_top import profile_program, run_in_terminal

import lineprof
from lineprof.datafile import dump_stats


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def handler_stats(tmp_path):
    source = write(tmp_path, "work.py", "def handler(n):\n    t = 0\n    for i in range(n):\n"
                                        "        t += i\n    return t\n")
    key = (str(source), 1, "handler")
    return lineprof.LineStats({key: [(2, 1, 700), (3, 11, 5500), (4, 10, 4000),
                                     (5, 1, 300)]}, 1e-9)


# ---- 1. files get the mode that the umask gives, not mkstemp's 0600 ---------------

def run_with_umask(umask, args, cwd):
    """python ARGS in cwd, under the given umask."""
    return subprocess.run([sys.executable] + list(args), cwd=str(cwd), capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: os.umask(umask),
                          env={k: v for k, v in os.environ.items()
                               if k not in ("LINEPROF", "LINE_PROFILE")})


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o027, 0o640)])
def test_every_file_written_follows_the_umask(tmp_path, umask, expected):
    write(tmp_path, "script.py", SCRIPT)
    commands = [
        ["-m", "kernprof", "-l", "-q", "script.py"],
        ["-m", "kernprof", "-b", "-q", "-o", "whole.prof", "script.py"],  # cProfile
        ["-m", "lineprof", "merge", "script.py.lprof", "-o", "merged.lprof"],
        ["-m", "lineprof", "pstats", "script.py.lprof", "-o", "out.prof"],
        ["-m", "lineprof", "callgrind", "script.py.lprof", "-o", "callgrind.out"],
        ["-m", "lineprof", "json", "script.py.lprof", "-o", "out.json"],
        ["-m", "lineprof", "html", "script.py.lprof", "-o", "html"],
    ]
    for args in commands:
        result = run_with_umask(umask, args, tmp_path)
        assert result.returncode == 0, (args, result.stderr)
    written = ["script.py.lprof", "whole.prof", "merged.lprof", "out.prof", "callgrind.out",
               "out.json"] + ["html/" + name for name in os.listdir(str(tmp_path / "html"))]
    assert len(written) > 7             # the index and a page per function
    assert {name: oct(mode(tmp_path / name)) for name in written} == \
        {name: oct(expected) for name in written}
    # Nothing is left behind but the files themselves.
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith(".tmp")]


def test_the_umask_is_read_without_changing_it(tmp_path):
    code = ("import builtins, os\n"
            "from lineprof import datafile\n"
            "print(oct(datafile.current_umask()))\n"
            "real_open = builtins.open\n"
            "def no_proc(path, *args, **kwargs):\n"      # a system without /proc
            "    if str(path).startswith('/proc/'):\n"
            "        raise FileNotFoundError(path)\n"
            "    return real_open(path, *args, **kwargs)\n"
            "builtins.open = no_proc\n"
            "print(oct(datafile.current_umask()), oct(datafile.current_umask()))\n"
            "builtins.open = real_open\n"
            "mask = os.umask(0); print(oct(mask))\n")
    result = run_with_umask(0o027, ["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0o27"] * 4


# ---- 2. python -m lineprof in a source folder without the built extension ------

@pytest.fixture
def source_copy(tmp_path):
    """A copy of the source tree as git knows it: no built extension."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    copy = tmp_path / "src"
    for name in listed.stdout.decode().split("\0"):
        if name and os.path.isfile(os.path.join(REPO, name)):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), str(copy / name))
    assert not [name for name in os.listdir(str(copy / "lineprof"))
                if name.startswith("_tracer.")]
    found = run_python(["-c", "import lineprof; print(lineprof.__file__)"], copy)
    assert found.stdout.strip() == str(copy / "lineprof" / "__init__.py")
    return copy


def test_viewing_a_profile_in_the_source_folder_needs_no_extension(tmp_path, source_copy):
    dump_stats(handler_stats(tmp_path), str(tmp_path / "a.lprof"))
    result = run_python(["-m", "lineprof", str(tmp_path / "a.lprof")], source_copy)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Function: handler at line 1" in result.stdout
    for command in ("json", "merge -o %s" % (tmp_path / "m.lprof")):
        other = run_python(["-m", "lineprof"] + command.split() + [str(tmp_path / "a.lprof")],
                           source_copy)
        assert other.returncode == 0, other.stderr


def test_what_needs_the_extension_says_so_in_one_line(tmp_path, source_copy):
    write(source_copy, "script.py", SCRIPT)
    for args in (["-l", "script.py"], ["-b", "script.py"]):
        result = run_python(["-m", "kernprof"] + args, source_copy)
        assert_one_line_error(result)
        assert "C extension is not built in this source folder" in result.stderr
        assert "pip install -e ." in result.stderr
    result = run_python(["-c", "import lineprof; lineprof.LineProfiler()"], source_copy)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(
        "lineprof.ExtensionNotBuilt: the C extension is not built")
    # kernprof without -l or -b (cProfile) does not need it.
    plain = write(source_copy, "plain.py", "print(sum(range(10)))\n")
    result = run_python(["-m", "kernprof", "-q", plain.name], source_copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "45\n"


# ---- 3. one unit everywhere: microseconds unless -u says otherwise -------------

def test_the_viewer_shows_microseconds_as_kernprof_does(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    viewed = kernprof("-l", "-v", "script.py")
    assert viewed.returncode == 0, viewed.stderr
    shown = run_python(["-m", "lineprof", "script.py.lprof"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Timer unit: 1e-06 s\n")
    # The same report as kernprof -v printed, number for number.
    assert shown.stdout in viewed.stdout
    top = run_python(["-m", "lineprof", "--top", "1", "script.py.lprof"], tmp_path)
    assert top.stdout.startswith("Timer unit: 1e-06 s\n")
    millis = run_python(["-m", "lineprof", "-u", "1e-3", "script.py.lprof"], tmp_path)
    assert millis.stdout.startswith("Timer unit: 0.001 s\n")


def test_the_viewer_rows_are_in_microseconds(tmp_path):
    dump_stats(handler_stats(tmp_path), str(tmp_path / "a.lprof"))
    result = run_python(["-m", "lineprof", "a.lprof"], tmp_path)
    row = next(line for line in result.stdout.splitlines() if line.endswith("t += i"))
    # 4000 ns over 10 hits: 4.0 us, 0.4 us per hit.
    assert row.split()[:4] == ["4", "10", "4.0", "0.4"]


def test_lprun_shows_microseconds(capsys):
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "lineprof")
    shell.run_cell("def f(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n")
    capsys.readouterr()
    shell.run_line_magic("lprun", "-f f f(10)")
    assert capsys.readouterr().out.startswith("Timer unit: 1e-06 s\n")
    shell.run_cell_magic("lprun", "-f f", "f(10)\n")
    assert capsys.readouterr().out.startswith("Timer unit: 1e-06 s\n")
    shell.run_line_magic("lprun", "-u 1e-3 -f f f(10)")
    assert capsys.readouterr().out.startswith("Timer unit: 0.001 s\n")


# ---- 4. a run that profiled nothing says so, and what to do ---------------------

PLAIN = "def work():\n    return sum(range(100))\n\nprint(work())\n"
UNCALLED = "@profile\ndef work():\n    return 1\n\nprint('done')\n"


def only_line(stderr):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_no_decorator_and_no_p(tmp_path, kernprof):
    write(tmp_path, "plain.py", PLAIN)
    result = kernprof("-l", "-v", "plain.py")
    assert result.returncode == 0
    assert only_line(result.stderr) == (
        "kernprof: no profiled function ran: decorate the functions to profile with @profile, "
        "or name them with -p")
    assert "4950" in result.stdout and "Timer unit: 1e-06 s" in result.stdout


def test_p_naming_the_scripts_own_module(tmp_path, kernprof):
    write(tmp_path, "plain.py", PLAIN)
    result = kernprof("-l", "-v", "-p", "plain", "plain.py")
    assert result.returncode == 0
    assert only_line(result.stderr) == (
        "kernprof: -p plain names the module of the script, which runs as __main__, not as "
        "'plain': name the script by its path (-p plain.py)")
    # What it says works.
    fixed = kernprof("-l", "-v", "-p", "plain.py", "plain.py")
    assert fixed.returncode == 0 and fixed.stderr == ""
    assert "Function: work at line 1" in fixed.stdout


def test_p_target_never_imported(tmp_path, kernprof):
    write(tmp_path, "plain.py", PLAIN)
    write(tmp_path, "helpers.py", "def helper():\n    return 2\n")
    result = kernprof("-l", "--no-preimports", "-p", "helpers", "plain.py")
    assert result.returncode == 0
    assert only_line(result.stderr) == (
        "kernprof: no profiled function ran: the program imported none of the -p targets "
        "(helpers), or they define no function")
    # Preimported (the default), its functions are profiled, never called.
    result = kernprof("-l", "-p", "helpers", "plain.py")
    assert result.returncode == 0
    assert only_line(result.stderr) == "kernprof: no profiled function ran: helper was never called"


def test_decorated_functions_never_called(tmp_path, kernprof):
    write(tmp_path, "uncalled.py", UNCALLED)
    result = kernprof("-l", "uncalled.py")
    assert result.returncode == 0
    assert only_line(result.stderr) == "kernprof: no profiled function ran: work was never called"


def test_a_failing_program_is_not_told_to_add_decorators(tmp_path, kernprof):
    write(tmp_path, "fails.py", "import sys\nsys.exit(3)\n")
    result = kernprof("-l", "fails.py")
    assert result.returncode == 3
    assert only_line(result.stderr) == ("kernprof: no profiled function ran before the "
                                        "program ended (exit status 3)")


def test_builtin_without_l_that_profiled_nothing(tmp_path, kernprof):
    write(tmp_path, "uncalled.py", UNCALLED)
    result = kernprof("-b", "uncalled.py")
    assert result.returncode == 0
    assert only_line(result.stderr).startswith("kernprof: no @profile function ran")


def test_a_run_that_profiled_something_adds_no_line(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    for args in (["-l"], ["-b"], []):
        result = kernprof(*args + ["script.py"])
        assert result.returncode == (1 if not args else 0)
        assert "no profiled function" not in result.stderr
        assert "no @profile function" not in result.stderr
    write(tmp_path, "plain.py", PLAIN)
    result = kernprof("plain.py")        # cProfile profiles the whole program
    assert result.returncode == 0 and result.stderr == ""


def test_forgotten_l_gets_a_hint_after_the_traceback(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("script.py")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    # (3.12+ adds ". Did you forget to import 'profile'?": the stdlib has one.)
    assert lines[-2].startswith("NameError: name 'profile' is not defined")
    assert lines[-1] == ("kernprof: 'profile' is defined only under kernprof -l "
                         "(line by line) or -b: add -l to kernprof's options")
    # Any other NameError is the program's own business.
    write(tmp_path, "other.py", "undefined_name\n")
    other = kernprof("other.py")
    assert other.returncode == 1
    assert other.stderr.strip().splitlines()[-1].startswith("NameError:")


def test_the_viewer_says_when_a_file_holds_nothing(tmp_path):
    dump_stats(lineprof.LineStats({}, 1e-9), str(tmp_path / "empty.lprof"))
    result = run_python(["-m", "lineprof", "empty.lprof"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("Timer unit: 1e-06 s\n")
    assert only_line(result.stderr) == ("lineprof: empty.lprof holds no profiled function: "
                                        "the run that wrote it profiled nothing")
    zero = lineprof.LineStats({("a.py", 1, "f"): []}, 1e-9)
    dump_stats(zero, str(tmp_path / "zero.lprof"))
    result = run_python(["-m", "lineprof", "zero.lprof"], tmp_path)
    assert result.returncode == 0
    assert only_line(result.stderr) == ("lineprof: no profiled function ran in the run that "
                                        "wrote zero.lprof")
    # The exports are written (pstats and callgrind can load them) and say so too.
    for command in ("pstats", "callgrind", "html"):
        result = run_python(["-m", "lineprof", command, "empty.lprof", "-o", "out." + command],
                            tmp_path)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / ("out." + command)).exists()
        assert only_line(result.stderr) == ("lineprof: empty.lprof holds no profiled function: "
                                            "the run that wrote it profiled nothing")


# ---- 5. -r leaves plain source in the terminal's own colour --------------------

def test_rich_plain_identifiers_keep_the_terminals_foreground(tmp_path, kernprof):
    pytest.importorskip("rich")
    profile_program(tmp_path, kernprof)
    # A terminal that says it can show 256 colours and true colour.
    output = run_in_terminal(["-m", "lineprof", "-r", "prog.py.lprof"], tmp_path,
                             {"TERM": "xterm-256color", "COLORTERM": "truecolor"})
    row = next(line for line in output.splitlines() if "total +=" in line)
    assert "\x1b[" in row                    # highlighted ...
    assert "38;5;" not in output and "38;2;" not in output     # ... with no fixed colour
    # The identifier 'total' follows no foreground colour of its own.
    before = row[:row.index("total")]
    last_sgr = re.findall(r"\x1b\[([0-9;]*)m", before)[-1]
    codes = last_sgr.split(";")
    assert not any(code in codes for code in ("37", "97", "38")), repr(row)
    assert not any(30 <= int(code) <= 37 or 90 <= int(code) <= 97
                   for code in codes if code.isdigit()), repr(row)
    # Keywords are still coloured, in the terminal's palette.
    assert re.search(r"\x1b\[(?:[0-9;]*;)?3[0-7](?:;[0-9;]*)?mfor\x1b", output)


# ---- 6. kernprof without arguments -------------------------------------------

def test_kernprof_without_arguments_asks_for_a_script(tmp_path, kernprof):
    for args in ([], ["-l"], ["-l", "-v"]):
        result = kernprof(*args)
        assert result.returncode == 2
        assert result.stdout == ""
        line = only_line(result.stderr)
        assert line.startswith("kernprof: no program to run: give a script"), line
        assert "args" not in line.replace("[args...]", "")
        assert "usage: kernprof [options] {script | - | -m module | -c code} [args...]" in line
