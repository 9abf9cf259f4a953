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
