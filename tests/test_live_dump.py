"""A live dump (issue 13): on LINEPROF_DUMP_SIGNAL the process writes its
profile so far, atomically, and goes on."""
import os
import signal
import subprocess
import sys
import time

import pytest

from lineprof.stats import LineStats
from conftest import wait_for

PROGRAM = '''\
import os, sys, time
from lineprof import profile

@profile
def step(x):
    return x + 1

open("started", "w").close()
while not os.path.exists("stop"):
    step(1)
    time.sleep(0.001)
'''


def hits(path):
    stats = LineStats.from_files(str(path))
    return sum(h for lines in stats.timings.values() for _, h, _ in lines)


def dump_twice(tmp_path, args, env, path, program=PROGRAM):
    (tmp_path / "prog.py").write_text(program)
    full_env = dict(os.environ, **env)
    child = subprocess.Popen([sys.executable] + args, cwd=str(tmp_path), env=full_env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (tmp_path / "started").exists())
        time.sleep(0.2)
        seen = []
        for _ in range(2):
            before = path.stat().st_mtime_ns if path.exists() else None
            child.send_signal(signal.SIGUSR1)
            wait_for(lambda: path.exists() and path.stat().st_mtime_ns != before)
            seen.append(hits(path))
            time.sleep(0.2)
        assert child.poll() is None         # it goes on
        assert 0 < seen[0] < seen[1]
        (tmp_path / "stop").touch()
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "Traceback" not in err
    return seen


def test_dump_under_lineprof_1(tmp_path):
    path = tmp_path / "profile_output.lprof"
    seen = dump_twice(tmp_path, ["prog.py"], {"LINEPROF": "1", "LINEPROF_DUMP_SIGNAL": "SIGUSR1"},
                      path)
    assert hits(path) > seen[1]          # the final write at exit


@pytest.mark.parametrize("call", ["lineprof.dump_on_signal()", "profile.dump_on_signal('SIGUSR1')",
                                  "lineprof.dump_on_signal(signal.SIGUSR1)"])
def test_dump_on_signal_from_the_program(tmp_path, call):
    program = PROGRAM.replace("from lineprof import profile\n",
                              "import signal\nimport lineprof\nfrom lineprof import profile\n"
                              + call + "\n")
    path = tmp_path / "profile_output.lprof"
    dump_twice(tmp_path, ["prog.py"], {"LINEPROF": "1"}, path, program)


def test_dump_under_lineprof_dir(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()

    class Part:       # the process's own file, whatever its pid and start
        def _one(self):
            names = [n for n in os.listdir(str(folder)) if n.endswith(".lprof")]
            return folder / names[0] if names else folder / "none.lprof"

        def exists(self):
            return self._one().exists()

        def stat(self):
            return self._one().stat()

        def __fspath__(self):
            return str(self._one())

        def __str__(self):
            return str(self._one())
    dump_twice(tmp_path, ["prog.py"], {"LINEPROF": "1", "LINEPROF_DIR": str(folder),
                                       "LINEPROF_DUMP_SIGNAL": "SIGUSR1"}, Part())
    assert len(os.listdir(str(folder))) == 1


@pytest.mark.parametrize("interval", ["1", "100", None])
def test_dump_beside_kernprof_interval(tmp_path, interval):
    # -i 100: the periodic writes do not come in the test's time, the dumps do;
    # without -i, only the dumps write before the end.
    path = tmp_path / "prog.py.lprof"
    options = ["-i", interval] if interval else []
    seen = dump_twice(tmp_path, ["-m", "kernprof", "-l"] + options + ["prog.py"],
                      {"LINEPROF_DUMP_SIGNAL": "SIGUSR1"}, path)
    assert hits(path) > seen[1]
