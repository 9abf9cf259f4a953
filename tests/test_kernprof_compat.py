"""kernprof as line_profiler 5.1's users type and call it (issue 12).

Each test asserts lineprof's behaviour directly. Where a line_profiler
kernprof command is named by LINEPROF_REFERENCE_KERNPROF (for example a venv
with line_profiler 5.1.0: /tmp/vlp/bin/kernprof), the same run of it is
compared side by side: the two packages cannot both own `python -m kernprof`
in one environment.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

import lineprof
from conftest import run_python

DECORATED = textwrap.dedent("""\
    import sys

    @profile
    def work(n):
        total = 0
        for i in range(n):
            total += i
        return total

    print("result", work(100), sys.argv[1:])
""")

FAILING = textwrap.dedent("""\
    def fail():
        raise ValueError("boom")

    fail()
""")


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---- 1. `from lineprof import profile` under kernprof without -l (cProfile) ------

def test_the_global_profile_under_cprofile_mode(tmp_path, kernprof):
    write(tmp_path, "script.py", textwrap.dedent("""\
        from lineprof import profile

        @profile
        def work(n):
            return sum(range(n))

        print(work(10), work(20))
    """))
    result = kernprof("script.py")
    # 3.12+: cProfile holds sys.monitoring's profiler id for the whole run; the
    # decorated call must not enable it a second time.
    assert result.returncode == 0, result.stderr
    assert "already active" not in result.stderr
    assert result.stdout.startswith("45 190\n")
    import pstats
    stats = pstats.Stats(str(tmp_path / "script.py.prof"))
    names = {name for _, _, name in stats.stats}
    assert "work" in names and "<module>" in names     # the whole run, as before


def test_builtin_profile_under_cprofile_b(tmp_path, kernprof):
    write(tmp_path, "script.py", DECORATED)
    result = kernprof("-b", "script.py")
    assert result.returncode == 0, result.stderr
    assert "result 4950 []" in result.stdout


# ---- 3. kernprof.main() in-process; kernprof.__version__ ---------------------------

IN_PROCESS = textwrap.dedent("""\
    import sys
    import kernprof
    print("version", kernprof.__version__)
    try:
        kernprof.main(["-l", "-q", "failing.py"])
    except ValueError as error:
        print("raised", repr(error))
    try:
        kernprof.main(["-q", "-c", "import sys; sys.exit(3)"])
    except SystemExit as exit:
        print("exit", exit.code)
    print("status", kernprof.main(["-l", "-q", "script.py"]))
""")


def test_main_raises_the_programs_exception(tmp_path):
    write(tmp_path, "failing.py", FAILING)
    write(tmp_path, "script.py", DECORATED)
    write(tmp_path, "caller.py", IN_PROCESS)
    result = run_python(["caller.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "version %s" % lineprof.__version__ in lines
    assert "raised ValueError('boom')" in lines
    assert "exit 3" in lines
    assert "status 0" in lines
    # Raised to the caller, not printed by kernprof; the profile was written.
    assert "Traceback" not in result.stderr
    assert (tmp_path / "failing.py.lprof").exists()


def test_the_command_prints_the_traceback_and_exits_1(tmp_path, kernprof):
    write(tmp_path, "failing.py", FAILING)
    result = kernprof("-l", "failing.py")
    assert result.returncode == 1
    assert result.stderr.count("Traceback") == 1
    assert "ValueError: boom" in result.stderr
    assert "kernprof.py" not in result.stderr       # the program's frames only


def test_version_names_lineprof(kernprof):
    result = kernprof("--version")
    assert result.returncode == 0
    assert result.stdout == "kernprof (lineprof) %s\n" % lineprof.__version__


def test_version_of_line_profilers_kernprof_is_a_bare_number(reference):
    result = reference("--version")
    assert re.match(r"^\d+\.\d+(\.\d+)?\n$", result.stdout)
    assert "lineprof" not in result.stdout


# ---- 2 and 4. names that always reach lineprof's kernprof --------------------------

def test_python_m_lineprof_kernprof(tmp_path):
    write(tmp_path, "script.py", DECORATED)
    result = run_python(["-m", "lineprof.kernprof", "-l", "-v", "script.py", "a"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "result 4950 ['a']" in result.stdout
    assert "Function: work at line 3" in result.stdout
    version = run_python(["-m", "lineprof.kernprof", "-V"], tmp_path)
    assert version.stdout == "kernprof (lineprof) %s\n" % lineprof.__version__


def test_import_kernprof_is_lineprof_kernprof():
    import kernprof
    import lineprof.kernprof
    assert kernprof is lineprof.kernprof
    assert kernprof.main is lineprof.kernprof.main


@pytest.mark.parametrize("name", ["kernprof", "kernprof.py"])
def test_installed_commands(tmp_path, name):
    folder = os.path.dirname(sys.executable)
    command = os.path.join(folder, name)
    if not os.path.exists(command):
        pytest.skip("%s is not installed beside %s" % (name, sys.executable))
    write(tmp_path, "script.py", DECORATED)
    result = subprocess.run([command, "-l", "-v", "script.py", "x"], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "result 4950 ['x']" in result.stdout
    assert "Function: work at line 3" in result.stdout
    version = subprocess.run([command, "--version"], capture_output=True, text=True)
    assert version.stdout == "kernprof (lineprof) %s\n" % lineprof.__version__


# ---- 7. output names and messages ---------------------------------------------------

def test_wrote_message_quotes_the_path(tmp_path, kernprof):
    write(tmp_path, "script.py", DECORATED)
    result = kernprof("-l", "script.py")
    assert result.returncode == 0, result.stderr
    assert "Wrote profile results to 'script.py.lprof'\n" in result.stdout
    assert re.search(r"Inspect results with:\n\S+ -m lineprof script.py.lprof\n",
                     result.stdout)
    # An outfile elsewhere is shown by its shortest form.
    write(tmp_path, "sub/script.py", DECORATED)
    result = kernprof("-l", "-o", str(tmp_path / "sub" / "out.lprof"), "sub/script.py")
    assert "Wrote profile results to 'sub/out.lprof'\n" in result.stdout


@pytest.mark.parametrize("line_by_line", [True, False])
def test_default_names_for_command_and_stdin(tmp_path, kernprof, line_by_line):
    flags = ["-l"] if line_by_line else []
    extension = "lprof" if line_by_line else "prof"
    first = kernprof(*flags, "-c", "print('c')")
    second = kernprof(*flags, "-c", "print('c')")
    piped = kernprof(*flags, "-", input="print('s')\n")
    for result in (first, second, piped):
        assert result.returncode == 0, result.stderr
    commands = sorted(path.name for path in tmp_path.glob("kernprof-command-*." + extension))
    stdins = [path.name for path in tmp_path.glob("kernprof-stdin-*." + extension)]
    # A new file for each run, as line_profiler 5.1 names them.
    assert len(commands) == 2 and len(stdins) == 1
    for name in commands + stdins:
        assert re.match(r"^kernprof-(command|stdin)-[a-z0-9_]{8}\.%s$" % extension, name)
    assert "Wrote profile results to '%s'" % stdins[0] in piped.stdout


def test_a_bad_command_leaves_no_empty_profile(tmp_path, kernprof):
    result = kernprof("-l", "-c", "def (")
    assert result.returncode == 1
    assert not list(tmp_path.glob("kernprof-command-*"))


def test_quiet_twice_silences_the_programs_stdout(tmp_path, kernprof):
    write(tmp_path, "script.py", DECORATED + "import sys\nsys.stderr.write('err\\n')\n")
    once = kernprof("-l", "-q", "script.py")
    assert once.stdout == "result 4950 []\n"
    twice = kernprof("-l", "-q", "-q", "script.py")
    assert twice.returncode == 0 and twice.stdout == ""
    assert twice.stderr == "err\n"
    thrice = kernprof("-l", "-qqq", "script.py")
    assert thrice.stdout == "" and thrice.stderr == ""
    assert (tmp_path / "script.py.lprof").exists()


def test_verbose(tmp_path, kernprof):
    write(tmp_path, "script.py", DECORATED)
    once = kernprof("-l", "--verbose", "script.py")
    assert "Function: work at line 3" in once.stdout
    assert once.stderr == ""
    twice = kernprof("-l", "-v", "-v", "script.py")
    assert "Function: work at line 3" in twice.stdout
    assert "kernprof: running script 'script.py' line by line" in twice.stderr
    # -v and -q count against each other, as in line_profiler.
    even = kernprof("-l", "-v", "-q", "script.py")
    assert "Function:" not in even.stdout and "Wrote profile results" in even.stdout


def test_same_names_as_line_profiler(tmp_path, kernprof, reference):
    write(tmp_path, "script.py", DECORATED)
    ours = kernprof("-l", "script.py")
    theirs = reference("-l", "script.py")
    wrote = [line for line in theirs.stdout.splitlines() if line.startswith("Wrote")]
    assert wrote and wrote[0] in ours.stdout.splitlines()
    theirs = reference("-l", "-c", "print(1)")
    name = re.search(r"'(kernprof-command-\w{8}\.lprof)'", theirs.stdout).group(1)
    assert re.match(r"^kernprof-command-[a-z0-9_]{8}\.lprof$", name)
    quiet = reference("-l", "-q", "-q", "script.py")
    assert quiet.stdout == kernprof("-l", "-q", "-q", "script.py").stdout == ""


# ---- 5. on/off options take a value and have a complement --------------------------

@pytest.mark.parametrize("args, profiled", [
    (["--line-by-line", "yes"], True),
    (["--line-by-line=on"], True),
    (["--line-by-line"], True),                 # bare, before the script
    (["-l", "--line-by-line", "off"], False),
    (["-l", "--no-line-by-line"], False),
    (["--no-line-by-line", "no"], True),
])
def test_flags_take_values(tmp_path, kernprof, args, profiled):
    write(tmp_path, "script.py", "try:\n    profile\nexcept NameError:\n    print('cprofile')\n"
                                 "else:\n    print('line by line')\n")
    result = kernprof(*(args + ["script.py", "arg"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("line by line" if profiled else "cprofile")
    assert (tmp_path / ("script.py.lprof" if profiled else "script.py.prof")).exists()


def test_complements_turn_off_a_config_default(tmp_path, kernprof):
    # Each default of the file, then its complement on the command line.
    write(tmp_path, "helper.py", "def helped():\n    return 1\n")
    write(tmp_path, "script.py", "import helper\n\n@profile\ndef unused():\n    pass\n\n"
                                 "def work():\n    return helper.helped()\n\nwork()\n")
    write(tmp_path, "pyproject.toml", "[tool.lineprof]\nskip-zero = true\nrich = true\n"
                                      "prof-imports = true\nno-compensation = true\n")
    if sys.version_info < (3, 11):
        pytest.importorskip("tomli")

    def run(*flags):
        result = kernprof("-l", "-v", "-p", "script.py", *flags, "script.py")
        assert result.returncode == 0, result.stderr
        stats = lineprof.load_stats(str(tmp_path / "script.py.lprof"))
        return result.stdout, stats

    configured, stats = run()
    assert "Function: unused" not in configured                 # skip-zero
    assert any(name == "helped" for _, _, name in stats.timings)     # prof-imports
    assert stats.metadata["compensation_ns_per_event"] == 0         # no-compensation
    turned_off, stats = run("--no-rich", "--no-skip-zero", "--compensation",
                            "--no-prof-imports")
    assert "Function: unused" in turned_off
    assert not any(name == "helped" for _, _, name in stats.timings)
    assert stats.metadata["compensation_ns_per_event"] > 0
    bad = kernprof("--rich=maybe", "script.py")
    assert bad.returncode == 2
    assert "not yes or no: 'maybe'" in bad.stderr


def test_the_programs_own_options_are_left_alone(tmp_path, kernprof):
    write(tmp_path, "script.py", DECORATED)
    result = kernprof("-l", "script.py", "--rich", "off", "--line-by-line")
    assert result.returncode == 0, result.stderr
    assert "result 4950 ['--rich', 'off', '--line-by-line']" in result.stdout


def test_an_empty_prof_mod_drops_the_targets_before_it(tmp_path, kernprof):
    write(tmp_path, "script.py", "def work():\n    return 1\n\nwork()\n")
    result = kernprof("-p", "script.py", "-p", "", "script.py")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "script.py.prof").exists()       # no target left: no -l
