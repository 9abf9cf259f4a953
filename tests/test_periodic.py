"""kernprof -i: the profile is written while the program runs."""
import os
import subprocess
import sys
import time

import lineprof

from test_kernprof import assert_one_line_error, write

PROGRAM = '''\
import os
import time


@profile
def step():
    return sum(range(100))


while not os.path.exists("stop"):
    step()
    time.sleep(0.001)
'''


def hits_of_step(path):
    stats = lineprof.load_stats(str(path))
    ((_, rows),) = stats.timings.items()
    return {lineno: hits for lineno, hits, _ in rows}[7]


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_profile_is_written_periodically_while_the_program_runs(tmp_path):
    write(tmp_path, "forever.py", PROGRAM)
    outfile = tmp_path / "forever.py.lprof"
    process = subprocess.Popen([sys.executable, "-m", "kernprof", "-l", "-i", "0.2",
                                "forever.py"], cwd=str(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for(outfile.exists)
        first = wait_for(lambda: hits_of_step(outfile))
        # A later write holds more hits: the file follows the running program,
        # and every read finds a whole file.
        second = wait_for(lambda: hits_of_step(outfile) > first and hits_of_step(outfile))
        assert process.poll() is None, "the program should still be running"
    finally:
        (tmp_path / "stop").write_text("")
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert hits_of_step(outfile) >= second
    assert "Wrote profile results to forever.py.lprof" in out
    # Only whole files were ever renamed into place: no temporary file is left.
    assert sorted(os.listdir(str(tmp_path))) == ["forever.py", "forever.py.lprof", "stop"]


def test_a_bare_i_means_every_second(tmp_path, kernprof):
    write(tmp_path, "once.py", "@profile\ndef f():\n    return 1\n\nf()\n")
    for flags in (["-l", "-i"], ["-li"], ["-l", "--output-interval"]):
        result = kernprof(*(flags + ["once.py"]))
        assert result.returncode == 0, result.stderr
        assert hits_of_once(tmp_path / "once.py.lprof") == 1


def hits_of_once(path):
    ((_, rows),) = lineprof.load_stats(str(path)).timings.items()
    return {lineno: hits for lineno, hits, _ in rows}[3]


def test_interval_needs_line_mode_and_a_positive_number(tmp_path, kernprof):
    write(tmp_path, "forever.py", PROGRAM)
    assert_one_line_error(kernprof("-i", "1", "forever.py"))
    assert_one_line_error(kernprof("-l", "-i", "0", "forever.py"))
