import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# The test programs are imported as the package `programs`.
sys.path.insert(0, HERE)


def run_python(args, cwd, input=None, env=None, timeout=120):
    """Runs `python ARGS` in cwd; returns the CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.pop("LINEPROF", None)
    full_env.pop("LINE_PROFILE", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable] + list(args), cwd=str(cwd), input=input,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def interruptible():
    """preexec_fn for a child the test interrupts with SIGINT: a shell's
    background job starts with SIGINT ignored, and Python keeps it so."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(condition, timeout=60.0):
    """condition()'s first true value, polled until timeout seconds pass
    (then AssertionError): for files and states that other processes make."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture
def kernprof(tmp_path):
    """Runs kernprof (python -m kernprof) in a temporary folder."""
    def run(*args, input=None, env=None):
        return run_python(["-m", "kernprof"] + list(args), tmp_path, input=input, env=env)
    return run


@pytest.fixture
def primes_stats(tmp_path, kernprof):
    """The profile of `kernprof -l examples/primes.py`: primes_below calls
    is_prime, both profiled. Without compensation: the tests check how the
    times relate, and under the sanitizer sessions the calibrated event cost
    far exceeds the real one, so compensated edge times clamp to 0."""
    import lineprof
    shutil.copy(os.path.join(REPO, "examples", "primes.py"), str(tmp_path / "primes.py"))
    result = kernprof("-l", "-q", "--no-compensation", "primes.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "primes.py.lprof"))
    keys = {key[2]: key for key in stats.timings}
    assert sorted(keys) == ["is_prime", "primes_below"]
    return stats, keys


@pytest.fixture
def without(tmp_path_factory):
    """without("rich", "IPython") -> env that makes those imports fail in a
    child process, as if the packages were not installed."""
    def env(*names):
        folder = tmp_path_factory.mktemp("blocked")
        for name in names:
            package = folder / name
            package.mkdir()
            (package / "__init__.py").write_text(
                "raise ImportError('%s is hidden by the test')\n" % name)
        return {"PYTHONPATH": str(folder)}
    return env


GIL_WAS_OFF = bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and not sys._is_gil_enabled()


@pytest.fixture(autouse=True)
def gil_stays_off():
    """On a free-threaded build running without the GIL, no test may turn it
    back on (importing an extension that needs it would, with a warning that
    code catching exceptions broadly could hide)."""
    yield
    if GIL_WAS_OFF:
        assert not sys._is_gil_enabled(), "the GIL was enabled during this test"


@pytest.fixture
def reference(tmp_path):
    """Runs line_profiler's kernprof (LINEPROF_REFERENCE_KERNPROF) in tmp_path."""
    command = os.environ.get("LINEPROF_REFERENCE_KERNPROF")
    if not command or not shutil.which(command):
        pytest.skip("no line_profiler kernprof named by LINEPROF_REFERENCE_KERNPROF")

    def run(*args, input=None, cwd=None):
        return subprocess.run([command] + list(args), cwd=str(cwd or tmp_path), input=input,
                              capture_output=True, text=True, timeout=120)
    return run
