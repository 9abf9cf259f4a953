"""-r/--rich and --top N, in kernprof and the viewer."""
import os
import pty
import subprocess
import sys

import pytest

from conftest import run_python
from test_kernprof import write

PROGRAM = '''\
@profile
def slow():
    total = 0
    for i in range(30000):
        total += sum(range(40))
    return total


@profile
def quick():
    return 1


slow()
quick()
'''


def profile_program(tmp_path, kernprof):
    write(tmp_path, "prog.py", PROGRAM)
    result = kernprof("-l", "prog.py")
    assert result.returncode == 0, result.stderr
    return tmp_path / "prog.py.lprof"


def test_top_lists_the_costliest_lines_with_function_and_file(tmp_path, kernprof):
    profile_program(tmp_path, kernprof)
    result = run_python(["-m", "lineprof", "--top", "2", "prog.py.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "prog.py:" in line]
    assert len(rows) == 2
    # The line doing the work comes first, with its function, file and source.
    assert "prog.py:5 slow" in rows[0] and "total += sum(range(40))" in rows[0]
    assert rows[0].split()[2] == "30000"     # Time, % All, Hits
    assert "Top 2 lines by time" in result.stdout
    assert "Line #" not in result.stdout     # only the top lines, not the full report


def test_kernprof_view_with_top(tmp_path, kernprof):
    write(tmp_path, "prog.py", PROGRAM)
    result = kernprof("-l", "-v", "--top", "1", "prog.py")
    assert result.returncode == 0, result.stderr
    assert "prog.py:5 slow" in result.stdout and "Line #" not in result.stdout


def test_rich_report_off_a_terminal_has_the_numbers_and_no_colour(tmp_path, kernprof):
    pytest.importorskip("rich")
    profile_program(tmp_path, kernprof)
    result = run_python(["-m", "lineprof", "-r", "prog.py.lprof"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    assert "total += sum(range(40))" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "total += sum" in line)
    cells = [cell for cell in row.split() if cell not in ("│", "┃", "|")]
    assert cells[:2] == ["5", "30000"]
    assert "Function: slow at line 1" in result.stdout


NESTED = '''\
@profile
def inner(n):
    return sum(range(n))


@profile
def outer():
    return [inner(400) for _ in range(300)]


outer()
'''


def test_rich_report_shows_own_time_for_a_function_that_called_profiled_ones(tmp_path, kernprof):
    pytest.importorskip("rich")
    write(tmp_path, "nested.py", NESTED)
    assert kernprof("-l", "nested.py").returncode == 0
    result = run_python(["-m", "lineprof", "-r", "nested.py.lprof"], tmp_path,
                        env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    # A table's title wraps to the table's width: each title runs from its
    # "Function:" to its header row.
    titles = {block.split()[0]: " ".join(block.split("Line #")[0].split())
              for block in result.stdout.split("Function: ")[1:]}
    assert "Own time:" in titles["outer"] and "Own time:" not in titles["inner"]
    outer_title = titles["outer"]
    import lineprof
    stats = lineprof.load_stats(str(tmp_path / "nested.py.lprof"))
    key = next(key for key in stats.timings if key[2] == "outer")
    assert outer_title.split("Own time:")[1].split()[0] == "%g" % stats.own_time(key)


def run_in_terminal(args, cwd, env):
    """Runs python ARGS with a pseudo-terminal as stdout; returns its output."""
    controller, terminal = pty.openpty()
    full_env = dict(os.environ, COLUMNS="160", **env)
    full_env.pop("NO_COLOR", None) if "NO_COLOR" not in env else None
    process = subprocess.Popen([sys.executable] + args, cwd=str(cwd), stdout=terminal,
                               stderr=subprocess.PIPE, env=full_env)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:         # the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def test_rich_colours_a_terminal_unless_no_color(tmp_path, kernprof):
    pytest.importorskip("rich")
    profile_program(tmp_path, kernprof)
    coloured = run_in_terminal(["-m", "lineprof", "-r", "prog.py.lprof"], tmp_path, {})
    assert "\x1b[" in coloured and "sum" in coloured
    plain = run_in_terminal(["-m", "lineprof", "-r", "prog.py.lprof"], tmp_path,
                            {"NO_COLOR": "1"})
    assert "sum" in plain
    # NO_COLOR: no colour codes (rich may still use other terminal codes).
    assert "\x1b[31" not in plain and "\x1b[1;31" not in plain and "\x1b[33" not in plain


def test_rich_without_the_package_prints_plain_text_and_a_notice(tmp_path, kernprof, without):
    profile_program(tmp_path, kernprof)
    result = run_python(["-m", "lineprof", "-r", "prog.py.lprof"], tmp_path,
                        env=without("rich"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ("lineprof: --rich needs the 'rich' package "
                                     "(pip install rich); showing plain text")
    assert "Line #      Hits         Time  Per Hit   % Time  Line Contents" in result.stdout
