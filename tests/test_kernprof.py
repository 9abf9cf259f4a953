"""kernprof end to end, as a user runs it."""
import os
import pstats
import signal
import subprocess
import sys
import time

import lineprof
from conftest import interruptible

SCRIPT = '''\
import sys

@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total

print("argv", sys.argv)
print("path0", sys.path[0])
print("result", work(10))
'''


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def assert_one_line_error(result, prefix="kernprof: "):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), result.stderr


def test_line_by_line_view_shows_the_report(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("-l", "-v", "script.py", "a", "b")
    assert result.returncode == 0, result.stderr
    assert "argv ['script.py', 'a', 'b']" in result.stdout
    assert "path0 %s" % tmp_path in result.stdout
    assert "Wrote profile results to 'script.py.lprof'" in result.stdout
    assert "Timer unit: 1e-06 s" in result.stdout
    assert "Function: work at line 3" in result.stdout
    header = "%6s %9s %12s %8s %8s  %-s" % ("Line #", "Hits", "Time", "Per Hit", "% Time",
                                           "Line Contents")
    assert header in result.stdout
    stats = lineprof.load_stats(str(tmp_path / "script.py.lprof"))
    ((key, rows),) = stats.timings.items()
    assert key == (str(tmp_path / "script.py"), 3, "work")
    assert {lineno: hits for lineno, hits, _ in rows} == {5: 1, 6: 11, 7: 10, 8: 1}


def test_bundled_flags_unit_skip_zero_summarize_outfile(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT + "\n@profile\ndef unused():\n    pass\n")
    result = kernprof("-lvz", "-u", "1e-3", "--summarize", "-o", "custom.lprof", "script.py")
    assert result.returncode == 0, result.stderr
    assert "Timer unit: 0.001 s" in result.stdout
    assert "Function: unused" not in result.stdout      # -z
    assert " seconds - %s:3 - work" % (tmp_path / "script.py") in result.stdout
    assert (tmp_path / "custom.lprof").exists()


def test_quiet_prints_nothing_but_the_program(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("-l", "-q", "script.py")
    assert result.returncode == 0
    assert "Wrote" not in result.stdout and "Inspect" not in result.stdout
    assert (tmp_path / "script.py.lprof").exists()


def test_exit_status_and_profile_kept_on_sys_exit(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT + "sys.exit(3)\n")
    result = kernprof("-l", "script.py")
    assert result.returncode == 3
    assert lineprof.load_stats(str(tmp_path / "script.py.lprof")).timings


def test_uncaught_exception_shows_the_programs_traceback(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT + "raise ValueError('boom')\n")
    result = kernprof("-l", "script.py")
    assert result.returncode == 1
    assert "ValueError: boom" in result.stderr
    assert "kernprof.py" not in result.stderr
    assert lineprof.load_stats(str(tmp_path / "script.py.lprof")).timings


def test_ctrl_c_keeps_the_profile(tmp_path):
    write(tmp_path, "script.py", SCRIPT + "import time\nprint('ready', flush=True)\n"
                                          "while True:\n    work(100)\n    time.sleep(0.01)\n")
    process = subprocess.Popen([sys.executable, "-m", "kernprof", "-l", "script.py"],
                               cwd=str(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    assert "argv" in process.stdout.readline()
    deadline = time.time() + 30
    while "ready" not in process.stdout.readline() and time.time() < deadline:
        pass
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "KeyboardInterrupt" in err
    stats = lineprof.load_stats(str(tmp_path / "script.py.lprof"))
    assert sum(hits for _, hits, _ in next(iter(stats.timings.values()))) > 10


def test_an_import_error_inside_a_module_program_shows_its_traceback(tmp_path, kernprof):
    write(tmp_path, "broken_module.py", "import no_such_dependency_anywhere\n")
    result = kernprof("-l", "-m", "broken_module")
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'no_such_dependency_anywhere'" in result.stderr
    assert 'broken_module.py", line 1' in result.stderr


def test_module_mode(tmp_path, kernprof):
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/__main__.py", SCRIPT)
    result = kernprof("-l", "-v", "-m", "pkg", "x")
    assert result.returncode == 0, result.stderr
    assert "argv ['%s', 'x']" % (tmp_path / "pkg" / "__main__.py") in result.stdout
    assert (tmp_path / "pkg.lprof").exists()
    assert "Function: work" in result.stdout


def test_command_mode(tmp_path, kernprof):
    result = kernprof("-l", "-v", "-c", SCRIPT, "x")
    assert result.returncode == 0, result.stderr
    assert "argv ['-c', 'x']" in result.stdout
    assert "    for i in range(n):" in result.stdout     # the source shows
    assert [path.name for path in tmp_path.glob("kernprof-command-*.lprof")]


def test_script_from_stdin(tmp_path, kernprof):
    result = kernprof("-l", "-v", "-", "x", input=SCRIPT)
    assert result.returncode == 0, result.stderr
    assert "argv ['-', 'x']" in result.stdout
    assert "File: <stdin>" in result.stdout
    assert [path.name for path in tmp_path.glob("kernprof-stdin-*.lprof")]


def test_double_dash_ends_kernprofs_options(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    result = kernprof("-l", "--", "script.py", "-v")
    assert result.returncode == 0
    assert "argv ['script.py', '-v']" in result.stdout
    assert "Timer unit" not in result.stdout


def test_setup_file_runs_first(tmp_path, kernprof):
    write(tmp_path, "setup_code.py", "import builtins\nbuiltins.FROM_SETUP = 42\n")
    write(tmp_path, "script.py", "print('setup says', FROM_SETUP)\n")
    result = kernprof("-l", "-s", "setup_code.py", "script.py")
    assert result.returncode == 0, result.stderr
    assert "setup says 42" in result.stdout


def test_lineprof_profile_decorator_works_under_kernprof(tmp_path, kernprof):
    write(tmp_path, "script.py", "from lineprof import profile\n\n@profile\ndef f():\n"
                                 "    return 1\n\nf()\n")
    result = kernprof("-l", "-v", "script.py")
    assert result.returncode == 0, result.stderr
    assert "Function: f at line 3" in result.stdout


def test_without_l_writes_a_pstats_file(tmp_path, kernprof):
    write(tmp_path, "script.py", "def f():\n    return sum(range(100))\n\nf()\n")
    result = kernprof("script.py")
    assert result.returncode == 0, result.stderr
    stats = pstats.Stats(str(tmp_path / "script.py.prof"))
    assert any(name == "f" for (_, _, name) in stats.stats)


def test_builtin_cprofile_profiles_only_decorated_functions(tmp_path, kernprof):
    write(tmp_path, "script.py", "@profile\ndef f():\n    return 1\n\ndef g():\n    return 2\n\n"
                                 "f()\ng()\n")
    result = kernprof("-b", "-v", "script.py")
    assert result.returncode == 0, result.stderr
    names = {name for (_, _, name) in pstats.Stats(str(tmp_path / "script.py.prof")).stats}
    assert "f" in names and "g" not in names


def test_no_compensation_flag_gives_larger_or_equal_times(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT.replace("work(10)", "work(20000)"))
    kernprof("-l", "-o", "with.lprof", "script.py")
    kernprof("-l", "--no-compensation", "-o", "without.lprof", "script.py")
    with_total = sum(t for rows in lineprof.load_stats(str(tmp_path / "with.lprof")).timings.values()
                     for _, _, t in rows)
    without = lineprof.load_stats(str(tmp_path / "without.lprof"))
    assert without.metadata["compensation_ns_per_event"] == 0
    assert sum(t for rows in without.timings.values() for _, _, t in rows) > 0
    assert with_total >= 0


def test_bad_inputs_get_one_clear_line(tmp_path, kernprof):
    write(tmp_path, "broken.py", "def f(:\n")
    write(tmp_path, "script.py", SCRIPT)
    (tmp_path / "folder").mkdir()
    assert_one_line_error(kernprof("-l", "missing.py"))
    assert_one_line_error(kernprof("-l", "folder"))
    assert_one_line_error(kernprof("-l", "broken.py"))
    assert_one_line_error(kernprof("-l", "-m", "no_such_module_anywhere"))
    write(tmp_path, "package_without_main/__init__.py", "")
    assert_one_line_error(kernprof("-l", "-m", "package_without_main"))
    assert_one_line_error(kernprof("-l", "-o", "no/such/folder/out.lprof", "script.py"))
    assert_one_line_error(kernprof("-l", "-o", "folder", "script.py"))
    assert_one_line_error(kernprof("--no-such-option", "script.py"))
    assert_one_line_error(kernprof("-l", "-u", "-1", "script.py"))
    assert_one_line_error(kernprof())


def test_output_that_becomes_unwritable_still_shows_the_report(tmp_path, kernprof):
    if os.geteuid() == 0:
        # root writes anywhere; make the output path a directory mid-run instead.
        write(tmp_path, "script.py", SCRIPT + "import os\nos.mkdir('out.lprof')\n")
    else:
        write(tmp_path, "script.py", SCRIPT + "import os\nos.chmod('.', 0o500)\n")
    result = kernprof("-l", "-v", "-o", "out.lprof", "script.py")
    os.chmod(str(tmp_path), 0o700)
    assert result.returncode != 0
    assert "kernprof: could not write the profile" in result.stderr
    assert "Function: work at line 3" in result.stdout     # the data is not lost
    assert "Traceback" not in result.stderr


def test_version(kernprof):
    result = kernprof("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "kernprof (lineprof) %s" % lineprof.__version__


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path):
    # The program prints one line (into the buffer); the report, which the
    # reader does not wait for, is kernprof's to write.
    write(tmp_path, "script.py", "@profile\ndef f():\n    return 1\n\nf()\nprint('argv')\n")
    result = subprocess.run("%s -m kernprof -l -v script.py | head -1" % sys.executable,
                            shell=True, cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.startswith("argv")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
