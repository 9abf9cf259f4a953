"""kernprof -i: the profile is written while the program runs."""
import os
import subprocess
import sys
import time

import lineprof

from conftest import wait_for
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
    assert "Wrote profile results to 'forever.py.lprof'" in out
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


MANY_FUNCTIONS = "\n".join(
    "def f%d(x):\n%s    return x\n" % (index, "    x = x + 1\n" * 30) for index in range(800))

BUSY = '''\
import os
import time
import many


@profile
def spin():
    total = 0
    for i in range(1000):
        total += many.f1(i)
    return total


while True:
    spin()
'''


def test_sigkill_during_periodic_writes_leaves_a_complete_profile(tmp_path):
    # A slow disk, simulated: the child's fsync sleeps, so a write spends most
    # of its time between creating the temporary file and renaming it, and
    # kills at staggered moments land in the middle of writes.
    write(tmp_path, "slowdisk/sitecustomize.py",
          "import os, time\n_fsync = os.fsync\n"
          "def fsync(fd):\n    time.sleep(0.05)\n    _fsync(fd)\nos.fsync = fsync\n")
    write(tmp_path, "many.py", MANY_FUNCTIONS)
    write(tmp_path, "busy.py", BUSY)
    outfile = tmp_path / "busy.py.lprof"
    # SIGKILL leaves kernprof's job folder behind (README): keep it in tmp_path.
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "slowdisk"), TMPDIR=str(tmp_path))
    hits_seen = []
    for delay in [0.013 * step for step in range(8)]:
        if outfile.exists():
            outfile.unlink()
        process = subprocess.Popen([sys.executable, "-m", "kernprof", "-l", "-i", "0.01",
                                    "-p", "many", "busy.py"], cwd=str(tmp_path), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: outfile.exists() and
                     len(lineprof.load_stats(str(outfile)).timings) == 801)
            time.sleep(delay)
        finally:
            process.kill()
            process.wait(timeout=60)
        stats = lineprof.load_stats(str(outfile))   # a whole file, never half of one
        assert len(stats.timings) == 801
        hits_seen.append(sum(hits for rows in stats.timings.values() for _, hits, _ in rows))
    assert max(hits_seen) > 0           # the later files hold the running program's hits
    # Some kills did land mid-write: their temporary files were left behind.
    assert [name for name in os.listdir(str(tmp_path)) if name.endswith(".tmp")]
