"""python -m lineprof attach PID: profiling a running process through
sys.remote_exec (3.14+); on older Pythons, the one-line error."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import lineprof
from conftest import interruptible, wait_for

NEEDS_REMOTE_EXEC = pytest.mark.skipif(
    sys.version_info < (3, 14) or not hasattr(sys, "remote_exec"),
    reason="lineprof attach needs sys.remote_exec (Python 3.14+); on this Python only its "
           "error is tested")

# work() has no loop and calls nothing: a thread switch or the eval breaker
# (where sys.remote_exec's script runs) never falls inside one of its calls,
# so every call is profiled whole or not at all.
TARGET = '''\
import json, os, sys, threading, time

def work(x):
    y = x * 2
    z = y + 1
    return z

PRELUDE

def state():
    monitoring = getattr(sys, "monitoring", None)
    return {
        "calls": calls,
        "events": [monitoring.get_local_events(tool, work.__code__) for tool in range(6)]
                  if monitoring else [],
        "tools": [monitoring.get_tool(tool) for tool in range(6)] if monitoring else [],
        "lineprof": sorted(name for name in sys.modules if name.startswith("lineprof")),
        "threads": sorted(thread.name for thread in threading.enumerate()),
    }

calls = 0
open("ready", "w").close()
while True:
    work(calls)
    calls += 1
    if os.path.exists("check"):
        with open("state.tmp", "w") as stream:
            json.dump(state(), stream)
        os.replace("state.tmp", "state.json")
        os.remove("check")
    time.sleep(0.001)
'''
WORK_LINES = (4, 5, 6)      # y = ..., z = ..., return z


class Target:
    """A child Python that calls work() in a loop until killed."""

    def __init__(self, folder, python=sys.executable, prelude="", env=None, args=()):
        self.folder = folder
        folder.mkdir(exist_ok=True)
        (folder / "target.py").write_text(TARGET.replace("PRELUDE", prelude))
        full_env = dict(os.environ)
        for name in ("LINEPROF", "LINE_PROFILE", "PYTHON_DISABLE_REMOTE_DEBUG"):
            full_env.pop(name, None)
        full_env.update(env or {})
        self.process = subprocess.Popen([python] + list(args) + ["target.py"], cwd=str(folder),
                                        env=full_env)
        self.pid = self.process.pid
        wait_for(lambda: (folder / "ready").exists() or self.process.poll() is not None)
        assert self.process.poll() is None, "the target ended"

    def state(self):
        (self.folder / "check").write_text("")
        wait_for(lambda: (self.folder / "state.json").exists() and not
                 (self.folder / "check").exists())
        value = json.loads((self.folder / "state.json").read_text())
        (self.folder / "state.json").unlink()
        return value

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def target(tmp_path):
    made = []

    def make(**kwargs):
        made.append(Target(tmp_path / ("target%d" % len(made)), **kwargs))
        return made[-1]
    yield make
    for each in made:
        each.stop()


def attach(args, cwd, user=None, timeout=120):
    env = dict(os.environ)
    env.pop("PYTHON_DISABLE_REMOTE_DEBUG", None)
    extra = {} if user is None else {"user": user}      # user=: 3.9+
    return subprocess.run([sys.executable, "-m", "lineprof", "attach"] + [str(a) for a in args],
                          cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=timeout, **extra)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lineprof attach: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def hits_of_work(path):
    stats = lineprof.load_stats(str(path))
    ((key, rows),) = stats.timings.items()
    assert key[0].endswith("target.py") and key[2] == "work", key
    return {lineno: hits for lineno, hits, _ in rows}


def check_clean_after(process, before, after):
    assert process.process.poll() is None, "the target ended"
    assert after["calls"] > before["calls"]
    assert after["events"] == [0] * 6, after["events"]
    assert after["tools"] == before["tools"], after["tools"]
    # lineprof's thread ends just after it wrote done.json.
    deadline = time.monotonic() + 30
    while after["threads"] != before["threads"] and time.monotonic() < deadline:
        time.sleep(0.05)
        after = dict(after, threads=process.state()["threads"])
    assert after["threads"] == before["threads"], after["threads"]
    assert before["lineprof"] == []
    assert "lineprof.attach" in after["lineprof"]


@pytest.mark.skipif(sys.version_info >= (3, 14),
                    reason="this Python has sys.remote_exec: the attach tests run instead")
def test_older_python_is_a_one_line_error(target, tmp_path):
    child = target()
    result = attach([child.pid, "-f", "__main__:work", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "needs Python 3.14 or newer",
                          "Python %d.%d" % sys.version_info[:2])
    assert not (tmp_path / ("lineprof-attach-%d.lprof" % child.pid)).exists()


def test_attach_in_the_overview():
    from lineprof.cmdline import OVERVIEW
    assert "attach" in OVERVIEW


def test_arguments_are_checked(tmp_path):
    result = attach(["notapid", "-f", "m:f"], tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("lineprof attach: ")
    result = attach(["1", "-f", "m:f", "--seconds", "0"], tmp_path)
    assert result.returncode == 2 and "must be positive" in result.stderr


@NEEDS_REMOTE_EXEC
def test_profiles_for_seconds_and_leaves_nothing_behind(target, tmp_path):
    child = target()
    before = child.state()
    folders = private_folders()
    out = tmp_path / "out.lprof"
    result = attach([child.pid, "-f", "__main__:work", "--seconds", "1", "-o", out], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Wrote %s" % out in result.stdout
    assert "profiling __main__:work in process %d for 1 s" % child.pid in result.stderr
    after = child.state()
    hits = hits_of_work(out)
    # Whole calls only: every line of work() has the same count, at least
    # one call, and no more than the calls made between the two states.
    assert sorted(hits) == list(WORK_LINES), hits
    calls = hits[WORK_LINES[0]]
    assert len(set(hits.values())) == 1, hits
    assert 1 <= calls <= after["calls"] - before["calls"], (calls, before, after)
    stats = lineprof.load_stats(str(out))
    assert list(stats.calls.values()) == [calls]
    check_clean_after(child, before, after)
    # The target goes on calling work() after the window.
    later = child.state()
    assert later["calls"] > after["calls"]
    # The private folder is gone.
    assert private_folders() == folders


def private_folders():
    import tempfile
    return {name for name in os.listdir(tempfile.gettempdir())
            if name.startswith("lineprof-attach-")}


@NEEDS_REMOTE_EXEC
def test_ctrl_c_stops_the_window(target, tmp_path):
    child = target()
    before = child.state()
    out = tmp_path / "out.lprof"
    env = dict(os.environ)
    env.pop("PYTHON_DISABLE_REMOTE_DEBUG", None)
    attacher = subprocess.Popen([sys.executable, "-m", "lineprof", "attach", str(child.pid),
                                 "-f", "__main__:work", "-o", str(out)], cwd=str(tmp_path),
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=interruptible)
    line = attacher.stderr.readline()
    assert "until Ctrl-C" in line, line
    time.sleep(0.5)
    attacher.send_signal(signal.SIGINT)
    stdout, stderr = attacher.communicate(timeout=60)
    assert attacher.returncode == 0, stderr
    assert "Wrote" in stdout
    after = child.state()
    hits = hits_of_work(out)
    assert len(set(hits.values())) == 1 and hits[WORK_LINES[0]] >= 1, hits
    check_clean_after(child, before, after)


@NEEDS_REMOTE_EXEC
def test_twice_in_a_row(target, tmp_path):
    child = target()
    for name in ("one.lprof", "two.lprof"):
        result = attach([child.pid, "-f", "__main__:work", "--seconds", "0.3", "-o",
                         tmp_path / name], tmp_path)
        assert result.returncode == 0, result.stderr
        assert hits_of_work(tmp_path / name)[WORK_LINES[0]] >= 1
    assert child.state()["events"] == [0] * 6


@NEEDS_REMOTE_EXEC
def test_function_not_found(target, tmp_path):
    child = target()
    before = child.state()
    result = attach([child.pid, "-f", "__main__:nosuch", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "function not found: __main__:nosuch")
    result = attach([child.pid, "-f", "notimported:work", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "function not found", "'notimported' is not imported")
    result = attach([child.pid, "-p", "nosuchmodule.x", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "target not found: nosuchmodule.x")
    after = child.state()
    assert after["events"] == [0] * 6 and after["tools"] == before["tools"]
    assert after["threads"] == before["threads"]


@NEEDS_REMOTE_EXEC
def test_prof_mod_target(target, tmp_path):
    child = target()
    out = tmp_path / "out.lprof"
    result = attach([child.pid, "-p", "__main__.work", "--seconds", "0.5", "-o", out], tmp_path)
    assert result.returncode == 0, result.stderr
    assert hits_of_work(out)[WORK_LINES[0]] >= 1


@NEEDS_REMOTE_EXEC
def test_lineprof_not_importable_in_the_target(target, tmp_path):
    child = target(prelude="sys.modules['lineprof'] = None   # as if not installed")
    result = attach([child.pid, "-f", "__main__:work", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "lineprof is not importable in process %d" % child.pid)
    assert child.process.poll() is None


@NEEDS_REMOTE_EXEC
def test_remote_debugging_disabled(target, tmp_path):
    child = target(env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    result = attach([child.pid, "-f", "__main__:work", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "remote debugging is disabled in process %d" % child.pid,
                          "PYTHON_DISABLE_REMOTE_DEBUG")


def _other_python():
    mine = "python%d.%d" % sys.version_info[:2]
    for name in ("python3.14", "python3.15", "python3.16"):
        if name != mine and shutil.which(name):
            return name
    return None


@NEEDS_REMOTE_EXEC
@pytest.mark.skipif(_other_python() is None,
                    reason="no other Python 3.14+ minor version installed")
def test_different_minor_version(target, tmp_path):
    child = target(python=_other_python())
    result = attach([child.pid, "-f", "__main__:work", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "Python %d.%d process" % sys.version_info[:2],
                          "run lineprof attach with the Python version of the process")


@NEEDS_REMOTE_EXEC
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root, to run the attacher as another user (nobody)")
def test_no_permission(target, tmp_path):
    child = target()
    # From /: nobody cannot enter root's pytest folders.
    result = attach([child.pid, "-f", "__main__:work", "--seconds", "1"], "/", user=65534)
    assert_one_line_error(result, "no permission to attach to process %d" % child.pid)


@NEEDS_REMOTE_EXEC
def test_no_such_process(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    result = attach([process.pid, "-f", "__main__:work", "--seconds", "1"], tmp_path)
    assert_one_line_error(result, "no process %d" % process.pid)
