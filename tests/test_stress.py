"""Hostile programs: many threads, recursion to the limit, abandoned
generators, functions redefined while profiled, profilers switched and freed
from inside profiled code, exceptions and gc.collect() at every point, exits
and interrupts under kernprof, two profilers at once. Each runs in a child
process, so that a crash fails one test, and each checks exact hit counts.

The programs name lines by their text (hits_by_text), which is easier to read
than line numbers; a program never has two lines with the same text in one
function."""
import json
import sys
import textwrap

import pytest

import lineprof
from conftest import HERE, run_python

PRELUDE = '''\
import gc
import json
import linecache
import os
import sys
import sys
import threading

from lineprof import LineProfiler

sys.path.insert(0, %r)


def hits_by_text(profiler):
    """{function name: {line text: hits}} of what profiler recorded (the line
    number, as text, where the source cannot be read)."""
    result = {}
    for (filename, _, name), rows in profiler.get_stats().timings.items():
        lines = result.setdefault(name.rsplit(".", 1)[-1], {})
        for lineno, hits, _ in rows:
            text = linecache.getline(filename, lineno).strip() or str(lineno)
            assert text not in lines, "two lines read %%r" %% text
            lines[text] = hits
    return result


def report(**results):
    print(json.dumps(results))
''' % HERE


def run_program(tmp_path, body, args=(), quiet=True):
    """Runs PRELUDE + body in a child Python, which must succeed; returns what
    it report()ed and its stderr. quiet: it must write nothing to stderr."""
    path = tmp_path / "program.py"
    path.write_text(PRELUDE + textwrap.dedent(body))
    result = run_python([str(path)] + list(args), tmp_path)
    assert result.returncode == 0, result.stderr
    if quiet:
        assert result.stderr == ""
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


# ---- 1. threads -------------------------------------------------------------

THREADS = 8
ROUNDS = 500000     # two lines per round: a million line events per thread

THREADED_LOOP = '''
sys.setswitchinterval(1e-5)     # many thread switches inside the loop
ROUNDS = %d


def spin(rounds):
    total = 0
    for i in range(rounds):
        total += i
        total -= 1
    return total


def run_threads(target, count):
    threads = [threading.Thread(target=target, args=(ROUNDS,)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
''' % ROUNDS


def spin_hits(threads, rounds):
    return {"total = 0": threads, "for i in range(rounds):": threads * (rounds + 1),
            "total += i": threads * rounds, "total -= 1": threads * rounds,
            "return total": threads}


def test_eight_threads_of_a_million_line_events_each_add_up_exactly(tmp_path):
    # Threads started after enable() are traced on every Python (3.8 cannot
    # reach threads that were running before: DESIGN.md).
    results, _ = run_program(tmp_path, THREADED_LOOP + '''
profiler = LineProfiler(spin)
profiler.enable()
run_threads(spin, %d)
profiler.disable()
report(hits=hits_by_text(profiler)["spin"])
''' % THREADS)
    assert results["hits"] == spin_hits(THREADS, ROUNDS)


def test_eight_threads_calling_a_decorated_function_add_up_exactly(tmp_path):
    results, _ = run_program(tmp_path, THREADED_LOOP + '''
profiler = LineProfiler()
run_threads(profiler(spin), %d)
report(hits=hits_by_text(profiler)["spin"], traced_after=sys.gettrace() is not None)
''' % THREADS)
    assert results["hits"] == spin_hits(THREADS, ROUNDS)
    assert results["traced_after"] is False


def test_enable_and_disable_racing_with_running_threads(tmp_path):
    """A thread switches profiling on and off while four threads run the
    profiled loop: no crash, and never more hits than lines run."""
    results, _ = run_program(tmp_path, THREADED_LOOP + '''
import time
profiler = LineProfiler(spin)
done = threading.Event()


def toggle():
    while not done.is_set():
        profiler.enable()
        time.sleep(0.0005)
        profiler.disable()
        time.sleep(0.0005)


toggler = threading.Thread(target=toggle)
toggler.start()
run_threads(spin, 4)
done.set()
toggler.join()
report(hits=hits_by_text(profiler).get("spin", {}))
''')
    full = spin_hits(4, ROUNDS)
    assert set(results["hits"]) <= set(full)
    for text, hits in results["hits"].items():
        assert 0 <= hits <= full[text], text


# ---- 2. recursion -------------------------------------------------------------

def test_recursion_to_the_limit_then_profiling_goes_on_exactly(tmp_path):
    results, _ = run_program(tmp_path, '''
sys.setrecursionlimit(500)
profiler = LineProfiler()
deepest = 0


@profiler
def descend(depth):
    global deepest
    deepest = depth
    return descend(depth + 1)


def descend_and_catch(depth):
    global deepest
    deepest = depth
    try:
        return descend_and_catch(depth + 1)
    except RecursionError:
        return -depth


def small(n):
    return n + 1


depths = []
for _ in range(3):
    try:
        descend(1)
    except RecursionError:
        depths.append(deepest)
profiler.add_function(descend_and_catch)
profiler.add_function(small)
profiler.enable()
caught_at = descend_and_catch(1)
depths.append(deepest)
small(1)
profiler.disable()
small(2)
report(hits=hits_by_text(profiler), depths=depths, caught_at=caught_at,
       traced_after=sys.gettrace() is not None)
''')
    depths = results["depths"]
    # How deep a call gets depends on the Python and on the wrapper's frames
    # (3.8's decorator is a Python function), not on lineprof.
    assert 100 < depths[0] < 500 and depths[0] == depths[1] == depths[2]
    assert results["caught_at"] == -depths[3]
    frames = sum(depths[:3])
    assert results["hits"]["descend"] == {"deepest = depth": frames,
                                          "return descend(depth + 1)": frames}
    assert results["hits"]["descend_and_catch"] == {
        "deepest = depth": depths[3], "try:": depths[3],
        "return descend_and_catch(depth + 1)": depths[3],
        "except RecursionError:": 1, "return -depth": 1}
    assert results["hits"]["small"] == {"return n + 1": 1}
    assert results["traced_after"] is False


# ---- 3. generators ------------------------------------------------------------

GENERATORS = '''
closed = []


def numbers(n):
    try:
        for i in range(n):
            yield i
    finally:
        closed.append(n)


def resilient(attempts):
    caught = 0
    for attempt in range(attempts):
        try:
            yield caught
        except ValueError:
            caught += 1
'''


def abandoned_numbers_hits(nexts):
    """What numbers(10) runs when next() is called each of `nexts` times
    (0 never starts it) and it is then closed."""
    started = [n for n in nexts if n > 0]
    return {"try:": len(started), "for i in range(n):": sum(started),
            "yield i": sum(started), "closed.append(n)": len(started)}


@pytest.mark.parametrize("mode", ["enable", "decorator"])
def test_generators_abandoned_closed_and_thrown_into(tmp_path, mode):
    results, _ = run_program(tmp_path, GENERATORS + '''
profiler = LineProfiler()
if sys.argv[1] == "decorator":
    numbers, resilient = profiler(numbers), profiler(resilient)
else:
    profiler.add_function(numbers)
    profiler.add_function(resilient)
    profiler.enable()

for k in range(200):
    generator = numbers(10)
    for _ in range(k % 7):
        next(generator)
    del generator
    gc.collect()
for k in range(50):     # abandoned in reference cycles: only gc frees them
    generator = numbers(10)
    next(generator)
    cycle = [generator]
    cycle.append(cycle)
    del generator, cycle
gc.collect()

generator = numbers(10)
next(generator)
next(generator)
generator.close()
generator = numbers(10)
next(generator)
try:
    generator.throw(KeyError("stop"))
except KeyError:
    pass

generator = resilient(10)
next(generator)
thrown = [generator.throw(ValueError()) for _ in range(3)]
generator.close()
profiler.disable()
report(hits=hits_by_text(profiler), closed=len(closed), thrown=thrown)
''', args=[mode])
    nexts = [k % 7 for k in range(200)] + [1] * 50 + [2, 1]
    assert results["hits"]["numbers"] == abandoned_numbers_hits(nexts)
    assert results["closed"] == len([n for n in nexts if n > 0])
    assert results["thrown"] == [1, 2, 3]
    # The except line also runs for close()'s GeneratorExit, which it lets by.
    assert results["hits"]["resilient"] == {
        "caught = 0": 1, "for attempt in range(attempts):": 4, "try:": 4, "yield caught": 4,
        "except ValueError:": 4, "caught += 1": 3}


# ---- 4. functions redefined while profiled --------------------------------------

def test_functions_redefined_while_profiling_count_per_code_object(tmp_path):
    results, _ = run_program(tmp_path, '''
profiler = LineProfiler()
SOURCE = "def shape(x):\\n    y = x * 2\\n    return y\\n"
OTHER_SOURCE = "def shape(x):\\n    return x + 1\\n"


def define(source):
    namespace = {}
    exec(compile(source, "shapes.py", "exec"), namespace)
    return namespace["shape"]


profiler.enable()
twins = []
for _ in range(2):
    def doubled(x):
        y = x * 2
        return y
    twins.append(doubled)
profiler.add_function(twins[0])
twins[0](1)
twins[1](2)
twins[1](3)

first = define(SOURCE)
profiler.add_function(first)
first(1)
again = define(SOURCE)      # equal to first's code, but another object
profiler.add_function(again)
again(1)
again(2)
changed = define(OTHER_SOURCE)      # same file, line and name, other code
profiler.add_function(changed)
for n in range(4):
    changed(n)
profiler.disable()

per_code = [(code is first.__code__, code is again.__code__, code is changed.__code__,
             {line: hits for line, hits, _ in rows})
            for code, rows in profiler._tracer.get_timings() if code.co_filename == "shapes.py"]
merged = profiler.get_stats().timings[("shapes.py", 1, "shape")]
report(same_code=twins[0].__code__ is twins[1].__code__, equal=first.__code__ == again.__code__,
       doubled=hits_by_text(profiler)["doubled"], per_code=per_code,
       merged=[[line, hits] for line, hits, _ in merged])
''')
    assert results["same_code"] and results["equal"]
    assert results["doubled"] == {"y = x * 2": 3, "return y": 3}
    # JSON keys are strings.
    assert results["per_code"] == [[True, False, False, {"2": 1, "3": 1}],
                                   [False, True, False, {"2": 2, "3": 2}],
                                   [False, False, True, {"2": 4}]]
    # LineStats sums the code objects of one (file, line, name) key.
    assert results["merged"] == [[2, 7], [3, 3]]


def test_the_same_function_in_two_files_is_two_functions(tmp_path):
    """Code objects compare equal without regard to their file: the two
    copies must still be counted apart."""
    source = "def helper(n):\n    total = 0\n    for i in range(n):\n        total += i\n" \
             "    return total\n"
    for name in ("first_copy", "second_copy"):
        (tmp_path / (name + ".py")).write_text(source)
    results, _ = run_program(tmp_path, '''
sys.path.insert(0, ".")
import first_copy, second_copy
profiler = LineProfiler(first_copy.helper, second_copy.helper)
profiler.enable()
first_copy.helper(2)
second_copy.helper(5)
profiler.disable()
timings = profiler.get_stats().timings
report(equal=first_copy.helper.__code__ == second_copy.helper.__code__,
       hits={os.path.basename(filename): {line: hits for line, hits, _ in rows}
             for (filename, _, _), rows in timings.items()})
''')
    assert results["equal"]
    assert results["hits"] == {"first_copy.py": {"2": 1, "3": 3, "4": 2, "5": 1},
                               "second_copy.py": {"2": 1, "3": 6, "4": 5, "5": 1}}


# ---- 5. profilers switched and freed from inside profiled code --------------------

def test_disable_and_enable_called_from_inside_profiled_code(tmp_path):
    results, _ = run_program(tmp_path, '''
decorated = LineProfiler()


@decorated
def stops_inside():
    a = 1
    decorated.disable()
    b = 2
    return a + b


def plain():
    c = 3
    return c


decorated.add_function(plain)
stops_inside()
stops_inside()
plain()                 # the decorated calls ended: not profiled

enabled = LineProfiler()


def stops_midway():
    a = 1
    enabled.disable()
    b = 2
    return a + b


enabled.add_function(stops_midway)
enabled.enable()
stops_midway()
stops_midway()

starter = LineProfiler()


@starter
def starts_inside():
    a = 1
    starter.enable()
    return a


starter.add_function(plain)
starts_inside()
plain()                 # enable() outlives the decorated call
starter.disable()
plain()
report(decorated=hits_by_text(decorated), enabled=hits_by_text(enabled),
       starter=hits_by_text(starter))
''')
    # disable() ends what enable() started; the decorated call goes on.
    assert results["decorated"] == {"stops_inside": {"a = 1": 2, "decorated.disable()": 2,
                                                     "b = 2": 2, "return a + b": 2},
                                    "plain": {}}
    assert results["enabled"] == {"stops_midway": {"a = 1": 1, "enabled.disable()": 1}}
    assert results["starter"] == {"starts_inside": {"a = 1": 1, "starter.enable()": 1,
                                                    "return a": 1},
                                  "plain": {"c = 3": 1, "return c": 1}}


def test_the_last_reference_to_a_profiler_dropped_while_its_function_runs(tmp_path):
    """A second profiler of the same function, alive throughout, sees every
    line; the freed one stops cleanly whether it was on by enable() or by its
    decorator (whose wrapper keeps the tracer until the call ends)."""
    results, _ = run_program(tmp_path, '''
holder = {}


def victim(n):
    x = n
    holder.pop("profiler", None)
    gc.collect()
    y = x + 1
    return y


witness = LineProfiler(victim)
witness.enable()

holder["profiler"] = LineProfiler(victim)
holder["profiler"].enable()
first = victim(1)
second = victim(2)

doomed = LineProfiler()
wrapped = doomed(victim)
holder["profiler"] = doomed
del doomed
third = wrapped(3)
del wrapped
fourth = victim(4)
witness.disable()

holder["profiler"] = LineProfiler(victim)     # alone this time
holder["profiler"].enable()
fifth = victim(5)
report(results=[first, second, third, fourth, fifth],
       witness=hits_by_text(witness)["victim"], traced_after=sys.gettrace() is not None)
''')
    assert results["results"] == [2, 3, 4, 5, 6]
    assert results["witness"] == {"x = n": 4, 'holder.pop("profiler", None)': 4,
                                  "gc.collect()": 4, "y = x + 1": 4, "return y": 4}
    assert results["traced_after"] is False


def test_a_profiler_dropped_between_enable_by_count_and_disable_by_count(tmp_path):
    """Its count on the thread is undone: the thread is no longer traced
    (settrace), and the next profiler switches on and off as usual."""
    results, _ = run_program(tmp_path, '''
def work():
    a = 1
    return a


first = LineProfiler(work)
first.enable_by_count()
first.enable_by_count()
work()
del first
gc.collect()
traced_after_drop = sys.gettrace() is not None
second = LineProfiler(work)
second.enable_by_count()
work()
second.disable_by_count()
work()
report(traced_after_drop=traced_after_drop, traced_at_end=sys.gettrace() is not None,
       second=hits_by_text(second)["work"])
''')
    assert results == {"traced_after_drop": False, "traced_at_end": False,
                       "second": {"a = 1": 1, "return a": 1}}


@pytest.mark.parametrize("ending, status", [("", 0), ("raise SystemExit(3)\n", 3),
                                           ("raise ValueError('boom')\n", 1)])
def test_a_profiler_left_enabled_when_the_program_ends(tmp_path, ending, status):
    # (3.8-3.11 crashed: stopping imported threading after sys.modules was
    # cleared, and reporting that failure revived the dying tracer.)
    path = tmp_path / "left_enabled.py"
    path.write_text("from lineprof import LineProfiler\n\ndef f():\n    return 1\n\n"
                    "profiler = LineProfiler(f)\nprofiler.enable()\nprofiler.enable_by_count()\n"
                    "f()\nprint('ran')\n" + ending)
    result = run_python([str(path)], tmp_path)
    assert result.returncode == status, result.stderr
    assert result.stdout == "ran\n"
    if status == 1:
        assert result.stderr.strip().endswith("ValueError: boom")
    else:
        assert result.stderr == ""


def test_a_profiler_freed_while_an_exception_propagates(tmp_path):
    # The tracer is dropped from the value stack of the frame that raised,
    # with the exception pending (it crashed on every Python).
    results, _ = run_program(tmp_path, '''
def work():
    return 1


def enabled_profiler():
    profiler = LineProfiler(work)
    profiler.enable()
    profiler.enable_by_count()
    work()
    return profiler


def take(profiler, value):
    return value


caught = []
for _ in range(3):
    try:
        take(enabled_profiler(), 1 / 0)
    except ZeroDivisionError as error:
        caught.append(str(error))
report(caught=caught, traced_after=sys.gettrace() is not None)
''')
    assert results == {"caught": ["division by zero"] * 3, "traced_after": False}


def test_a_profiler_whose_stopping_fails_while_it_is_freed(tmp_path):
    """The failure is reported as unraisable, without naming the dying
    tracer (which revived it and freed it twice), and a new profiler works.
    3.12+: another tool frees lineprof's sys.monitoring tool id under it
    (lineprof holds sys.monitoring's functions, so patching them would not
    reach it); 3.8-3.11: threading.settrace refuses."""
    results, stderr = run_program(tmp_path, '''
import threading


def work(n):
    x = n
    return x


def refuse(*args):
    raise RuntimeError("refused by the test")


profiler = LineProfiler(work)
profiler.enable()
work(1)
if sys.version_info >= (3, 12):
    tool = next(i for i in range(6) if sys.monitoring.get_tool(i) == "lineprof")
    sys.monitoring.free_tool_id(tool)
    del profiler
    gc.collect()
else:
    original = threading.settrace
    threading.settrace = refuse
    del profiler
    gc.collect()
    threading.settrace = original

after = LineProfiler(work)
after.enable()
work(2)
work(3)
after.disable()
work(4)
report(after=hits_by_text(after)["work"])
''', quiet=False)
    expected_error = ("ValueError" if sys.version_info >= (3, 12)
                      else "RuntimeError: refused by the test")
    assert results == {"after": {"x = n": 2, "return x": 2}}
    assert expected_error in stderr
    assert "Fatal" not in stderr


# ---- 6. exceptions and gc.collect() at every point ------------------------------------

STRAIGHT_LINES = 12


def straight_line_function(lines):
    body = "".join("    if k == %d: raise Stop(%d)\n    gc.collect()  # %d\n" % (i, i, i)
                   if i % 3 == 0 else "    if k == %d: raise Stop(%d)\n" % (i, i)
                   for i in range(lines))
    return "def straight(k):\n" + body + "    return k\n"


def test_an_exception_raised_at_every_line_and_gc_collect_inside(tmp_path):
    """straight(k) raises on its k-th check, for every k and once not at all;
    profiled __del__ methods run inside the gc.collect() calls of profiled
    code. Counts equal the program's structure and settrace's line events."""
    results, _ = run_program(tmp_path, '''
from settrace_reference import SettraceCounter


class Stop(Exception):
    pass


class Garbage:
    finalized = 0

    def __init__(self):
        self.me = self          # a cycle: freed by gc.collect() only

    def __del__(self):
        Garbage.finalized += 1


%s

def steps(k):
    if k == 0: raise Stop(0)
    a = [Garbage()]
    if k == 1: raise Stop(1)
    gc.collect()
    for i in range(3):
        if k == 2 and i == 2: raise Stop(2)
    try:
        if k == 3: raise Stop(3)
    finally:
        b = 2
    with open(__file__) as source:
        if k == 4: raise Stop(4)
    if k == 5: b = 1 / 0
    return a


def run():
    for k in range(%d):
        try:
            straight(k)
        except Stop:
            pass
    for k in range(7):
        try:
            steps(k)
        except (Stop, ZeroDivisionError):
            pass
    Garbage()
    gc.collect()


functions = [straight, steps, Garbage.__del__]
profiler = LineProfiler(*functions)
profiler.enable()
run()
profiler.disable()
with SettraceCounter([f.__code__ for f in functions]) as reference:
    run()
timings = profiler.get_stats().timings
mine = {name: {line: hits for line, hits, _ in rows} for (_, _, name), rows in timings.items()}
theirs = {(getattr(f.__code__, "co_qualname", f.__name__)): reference.hits_of(f.__code__)
          for f in functions}
report(equal_to_settrace=mine == theirs, mine={k: sorted(v.items()) for k, v in mine.items()},
       straight=hits_by_text(profiler)["straight"], finalized=Garbage.finalized)
''' % (straight_line_function(STRAIGHT_LINES), STRAIGHT_LINES + 1))
    assert results["equal_to_settrace"], results["mine"]
    # Check i runs when k >= i: in STRAIGHT_LINES + 1 - i of the calls; the
    # gc.collect() after it when k > i.
    expected = {"return k": 1}
    for i in range(STRAIGHT_LINES):
        expected["if k == %d: raise Stop(%d)" % (i, i)] = STRAIGHT_LINES + 1 - i
        if i % 3 == 0:
            expected["gc.collect()  # %d" % i] = STRAIGHT_LINES - i
    assert results["straight"] == expected
    # Each run makes a Garbage in steps(k) for k = 1..6 (0 raises first) and
    # one more at its end; two runs (lineprof's, then settrace's).
    assert results["finalized"] == 2 * 7


# ---- 7. exits and interrupts under kernprof ---------------------------------------------

KERNPROF_PROGRAM = '''\
import signal
import sys

# Python leaves SIGINT ignored if it was when the program started (a
# background job of a shell): the test is about kernprof, not about that.
signal.signal(signal.SIGINT, signal.default_int_handler)


@profile
def inner(n, how):
    total = 0
    for i in range(n):
        total += i
    if how == "exit":
        sys.exit(7)
    if how == "interrupt":
        raise KeyboardInterrupt
    if how == "signal":
        signal.raise_signal(signal.SIGINT)
    return total


@profile
def outer(how):
    inner(10, "")
    inner(5, how)
    return "unreached"


outer(sys.argv[1])
'''


@pytest.mark.parametrize("how, status", [("exit", 7), ("interrupt", 130), ("signal", 130)])
def test_exit_and_interrupts_inside_profiled_code_under_kernprof(tmp_path, kernprof, how, status):
    (tmp_path / "program.py").write_text(KERNPROF_PROGRAM)
    result = kernprof("-l", "program.py", how)
    assert result.returncode == status, result.stderr
    assert ("KeyboardInterrupt" in result.stderr) == (status == 130)
    assert "Fatal" not in result.stderr
    stats = lineprof.load_stats(str(tmp_path / "program.py.lprof"))
    source = KERNPROF_PROGRAM.splitlines()
    hits = {name: {source[line - 1].strip(): count for line, count, _ in rows}
            for (_, _, name), rows in stats.timings.items()}
    ran = {"exit": "sys.exit(7)", "interrupt": "raise KeyboardInterrupt",
           "signal": "signal.raise_signal(signal.SIGINT)"}[how]
    # inner(10, "") ran every line once (its loop 10 times); inner(5, how)
    # the checks up to how's, and its line.
    checks = ['if how == "exit":', 'if how == "interrupt":', 'if how == "signal":']
    reached = checks.index('if how == "%s":' % how)
    expected = {"total = 0": 2, "for i in range(n):": 11 + 6, "total += i": 10 + 5,
                ran: 1, "return total": 1}
    for position, check in enumerate(checks):
        expected[check] = 2 if position <= reached else 1
    assert hits["inner"] == expected
    assert hits["outer"] == {'inner(10, "")': 1, "inner(5, how)": 1}


# ---- 8. after disable(), and after the profiler is gone ---------------------------------

def test_calls_after_disable_and_after_the_profiler_is_collected(tmp_path):
    results, _ = run_program(tmp_path, '''
import weakref


def work(n):
    x = n * 2
    return x


profiler = LineProfiler(work)
profiler.enable()
work(1)
profiler.disable()
before = hits_by_text(profiler)
results = [work(n) for n in range(5)]
after = hits_by_text(profiler)

decorating = LineProfiler()
decorated = decorating(work)
decorated(1)
profiler_ref = weakref.ref(decorating)
del decorating, profiler
gc.collect()
results += [decorated(5), work(6)]      # the wrapper keeps only the tracer
del decorated
gc.collect()
results.append(work(7))
report(unchanged=before == after, hits=after["work"], results=results,
       collected=profiler_ref() is None, traced_after=sys.gettrace() is not None)
''')
    assert results == {"unchanged": True, "hits": {"x = n * 2": 1, "return x": 1},
                       "results": [0, 2, 4, 6, 8, 10, 12, 14], "collected": True,
                       "traced_after": False}


# ---- 9. two profilers of the same function -------------------------------------------------

def test_two_profilers_of_one_function_each_count_while_they_are_on(tmp_path):
    results, _ = run_program(tmp_path, '''
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def switching(first, second):
    a = 1
    if first: first.enable()
    b = 2
    if second: second.disable()
    return a + b


both_a, both_b = LineProfiler(work), LineProfiler(work)
both_a.enable()
work(3)                 # a only
both_b.enable()
work(4)                 # both
both_a.disable()
work(5)                 # b only
both_b.disable()
work(6)                 # neither

outer, inner = LineProfiler(), LineProfiler()
nested = outer(inner(work))
nested(2)               # both
inner(work)(3)          # inner only
outer(work)(4)          # outer only

by_enable, by_decorator = LineProfiler(work), LineProfiler()
decorated = by_decorator(work)
by_enable.enable()
decorated(2)            # both
work(3)                 # by_enable only
by_enable.disable()
decorated(4)            # by_decorator only

# The second one switched on and off in the middle of a running call.
watcher, late = LineProfiler(switching), LineProfiler(switching)
watcher.enable()
switching(late, None)
switching(None, late)
watcher.disable()
report(**{name: hits_by_text(profiler) for name, profiler in [
    ("both_a", both_a), ("both_b", both_b), ("outer", outer), ("inner", inner),
    ("by_enable", by_enable), ("by_decorator", by_decorator), ("watcher", watcher),
    ("late", late)]})
''')

    def work_hits(*ns):
        return {"work": {"total = 0": len(ns), "for i in range(n):": sum(n + 1 for n in ns),
                         "total += i": sum(ns), "return total": len(ns)}}
    assert results["both_a"] == work_hits(3, 4)
    assert results["both_b"] == work_hits(4, 5)
    assert results["outer"] == work_hits(2, 4)
    assert results["inner"] == work_hits(2, 3)
    assert results["by_enable"] == work_hits(2, 3)
    assert results["by_decorator"] == work_hits(2, 4)
    every_line = ["a = 1", "if first: first.enable()", "b = 2", "if second: second.disable()",
                  "return a + b"]
    assert results["watcher"] == {"switching": {line: 2 for line in every_line}}
    # late: on from the line after enable() in the first call, until its
    # disable() line in the second.
    assert results["late"] == {"switching": {"a = 1": 1, "if first: first.enable()": 1,
                                             "b = 2": 2, "if second: second.disable()": 2,
                                             "return a + b": 1}}
