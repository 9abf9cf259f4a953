"""Sampled calls with a limit (issue 13): LINEPROF_SAMPLE, LINEPROF_LIMIT,
LINEPROF_PER_CALL and profile(sample=..., limit=...), under plain python."""
import os
import re

from conftest import run_python

from lineprof.stats import LineStats

SCRIPT = '''\
import sys
from lineprof import profile

@profile
def inner(x):
    return x + 1

@profile
def work(n):
    t = 0
    for i in range(n):
        t = inner(t)
    return t

print("wrapped:", hasattr(work, "__wrapped__"))
for _ in range(int(sys.argv[1])):
    work(3)
'''


def calls(path):
    stats = LineStats.from_files(str(path))
    return {key[2]: count for key, count in stats.calls.items()}


def run(tmp_path, calls_made, **env):
    (tmp_path / "script.py").write_text(SCRIPT)
    env.setdefault("LINEPROF", "1")
    return run_python(["script.py", str(calls_made)], tmp_path, env=env)


def test_limit_profiles_exactly_that_many_calls(tmp_path):
    result = run(tmp_path, 20, LINEPROF_SAMPLE="1", LINEPROF_LIMIT="3")
    assert result.returncode == 0, result.stderr
    # The nested decorated calls are profiled with their outermost call.
    assert calls(tmp_path / "profile_output.lprof") == {"work": 3, "inner": 9}


def test_sampled_calls_are_some_not_all_and_nested_calls_follow(tmp_path):
    # A seeded draw: the same calls every run; with P=0.5 over 2000 calls,
    # none or all of them has probability 2**-2000 for any seed.
    result = run(tmp_path, 2000, LINEPROF_SAMPLE="0.5", LINEPROF_SAMPLE_SEED="13")
    assert result.returncode == 0, result.stderr
    counted = calls(tmp_path / "profile_output.lprof")
    assert 0 < counted["work"] < 2000
    assert counted["inner"] == 3 * counted["work"]
    again = run(tmp_path, 2000, LINEPROF_SAMPLE="0.5", LINEPROF_SAMPLE_SEED="13")
    assert again.returncode == 0, again.stderr
    assert calls(tmp_path / "profile_output.lprof") == counted


def test_keyword_arguments(tmp_path):
    (tmp_path / "script.py").write_text('''\
from lineprof import profile

@profile(sample=1, limit=2)
def once(x):
    return x

@profile(limit=4)
def twice(x):
    return x

for i in range(10):
    once(i)
    twice(i)
''')
    result = run_python(["script.py"], tmp_path, env={"LINEPROF": "1"})
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path / "profile_output.lprof") == {"once": 2, "twice": 4}


def test_off_returns_the_function_untouched(tmp_path):
    result = run(tmp_path, 5, LINEPROF="", LINEPROF_SAMPLE="0.5", LINEPROF_LIMIT="2")
    assert result.returncode == 0, result.stderr
    assert "wrapped: False" in result.stdout
    assert not (tmp_path / "profile_output.lprof").exists()


def test_bad_values_warn_in_one_line_and_turn_profiling_off(tmp_path):
    for name, value in [("LINEPROF_SAMPLE", "0"), ("LINEPROF_SAMPLE", "1.5"),
                        ("LINEPROF_SAMPLE", "half"), ("LINEPROF_LIMIT", "0"),
                        ("LINEPROF_LIMIT", "2.5")]:
        result = run(tmp_path, 5, **{name: value})
        assert result.returncode == 0, result.stderr
        assert "wrapped: False" in result.stdout
        assert result.stderr.count("\n") == 1 and name in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "profile_output.lprof").exists()


def test_per_call_files_are_named_and_mergeable(tmp_path):
    folder = tmp_path / "calls"
    result = run(tmp_path, 10, LINEPROF_LIMIT="4", LINEPROF_PER_CALL="1",
                 LINEPROF_DIR=str(folder))
    assert result.returncode == 0, result.stderr
    names = sorted(os.listdir(str(folder)))
    assert len(names) == 4, names
    for name in names:
        assert re.match(r"^work\.\d+ms\.\d+\.\d+\.lprof$", name), name
        assert calls(folder / name) == {"work": 1, "inner": 3}
    merged = run_python(["-m", "lineprof", "merge", str(folder), "-o", "all.lprof"], tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert calls(tmp_path / "all.lprof") == {"work": 4, "inner": 12}
    assert not (tmp_path / "profile_output.lprof").exists()


WRAPPER_SCRIPT = '''\
import pickle
import threading
from lineprof import _tracer, profile

@profile(sample=1, limit=3)
def fails(x, *, func=None, chooser=None):
    if x < 0:
        raise ValueError(x)
    return (x, func, chooser)

# Keyword arguments named like first_call's own reach the function on the
# sampled path and on the unsampled one (calls 4 and 5, past the limit).
for i in range(5):
    assert fails(i, func="f", chooser="c") == (i, "f", "c")
# An exception leaves the thread outside any decorated call, sampled or not.
for i in range(2):
    try:
        fails(-1)
    except ValueError:
        pass
    assert _tracer.sampling_mode() == 0

class Box:
    @profile(sample=1, limit=1)
    def get(self, extra):
        return (self, extra)

box = Box()
assert box.get(1) == (box, 1) and box.get(extra=2) == (box, 2)
assert Box.get(box, 3) == (box, 3)
assert fails.__name__ == "fails" and fails.__wrapped__.__name__ == "fails"
assert "fails" in repr(fails)
assert pickle.loads(pickle.dumps(fails)) is fails

# The mode is per thread: while one thread is inside an unsampled call, the
# calls of another thread are decided on their own.
@profile(sample=1e-12)
def waits(entered, release):
    entered.set()
    release.wait()

@profile(sample=1)
def elsewhere():
    return 1

entered, release = threading.Event(), threading.Event()
waiting = threading.Thread(target=waits, args=(entered, release))
waiting.start()
entered.wait()
for _ in range(4):
    elsewhere()
release.set()
waiting.join()

# A generator and a coroutine follow the call they are made in.
@profile(sample=1e-12)
def unsampled_outer():
    return list(numbers())

@profile(sample=1)
def sampled_outer():
    return list(numbers())

@profile(sample=1, limit=10)
def numbers():
    yield 1
    yield 2

assert unsampled_outer() == [1, 2] and sampled_outer() == [1, 2]
print("ok", _tracer.sampling_mode())
'''


def test_the_wrapper_passes_arguments_binds_and_keeps_the_mode_per_thread(tmp_path):
    (tmp_path / "script.py").write_text(WRAPPER_SCRIPT)
    result = run_python(["script.py"], tmp_path, env={"LINEPROF": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "ok 0", result.stdout
    counted = calls(tmp_path / "profile_output.lprof")
    # fails: the first three calls (the limit); the raising ones are past it.
    assert counted["fails"] == 3
    assert counted.get("get", counted.get("Box.get")) == 1
    # waits was never sampled; elsewhere's four calls were, on their thread.
    assert counted.get("waits", 0) == 0
    assert counted["elsewhere"] == 4
    # numbers: once, inside the sampled call only.
    assert counted["sampled_outer"] == 1 and counted.get("unsampled_outer", 0) == 0
    assert counted["numbers"] == 1


PER_CALL_SCRIPT = '''\
import os
import signal
import threading
from lineprof import profile

@profile
def slow(entered, release):
    entered.set()
    release.wait()

@profile
def quick(x):
    return x

@profile
def numbers(n):
    for i in range(n):
        yield i

# While slow's call is in progress on one thread, quick's calls on another
# are not profiled, and do not count against the limit.
entered, release = threading.Event(), threading.Event()
waiting = threading.Thread(target=slow, args=(entered, release))
waiting.start()
entered.wait()
for i in range(3):
    quick(i)
release.set()
waiting.join()
quick(10)
# A generator's call ends with the generator: one file when it is exhausted.
assert list(numbers(4)) == [0, 1, 2, 3]
os.kill(os.getpid(), signal.SIGUSR1)
quick(11)                       # past the limit of 3
print("done")
'''


def test_per_call_files_hold_one_call_at_a_time(tmp_path):
    (tmp_path / "script.py").write_text(PER_CALL_SCRIPT)
    folder = tmp_path / "calls"
    result = run_python(["script.py"], tmp_path, env={
        "LINEPROF": "1", "LINEPROF_PER_CALL": "1", "LINEPROF_LIMIT": "3",
        "LINEPROF_DIR": str(folder), "LINEPROF_DUMP_SIGNAL": "SIGUSR1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    # The dump signal says why it writes nothing, in one line.
    assert result.stderr.count("\n") == 1 and "LINEPROF_PER_CALL" in result.stderr, \
        result.stderr
    files = {}
    for name in os.listdir(str(folder)):
        files.setdefault(name.split(".")[0], []).append(
            {key: count for key, count in calls(folder / name).items() if count})
    assert files == {"slow": [{"slow": 1}], "quick": [{"quick": 1}],
                     "numbers": [{"numbers": 1}]}, files
    hits = {key[2]: sum(hits for _, hits, _ in lines)
            for key, lines in LineStats.from_files(
                *[str(folder / name) for name in os.listdir(str(folder))]).timings.items()}
    assert hits["numbers"] == 5 + 4          # the for line 5 times, the yield 4


def test_calling_thread_only_keeps_other_threads_calls_out():
    """What a sampled call's profiler is set to: enable_by_count() counts the
    calling thread only. Without it, on 3.12+ (sys.monitoring's events are
    seen on every thread) another thread's call of the code counts too."""
    import sys
    import threading

    from lineprof import LineProfiler

    def work():
        return 1

    for only, other_counted in [(True, False), (False, sys.version_info >= (3, 12))]:
        profiler = LineProfiler(work)
        profiler._tracer.calling_thread_only = only
        assert profiler._tracer.calling_thread_only is only
        profiler.enable_by_count()
        try:
            work()
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
        finally:
            profiler.disable_by_count()
        (lines,) = profiler.get_stats().timings.values()
        assert [hits for _, hits, _ in lines] == [2 if other_counted else 1], (only, lines)
