"""The LineProfiler API, as line_profiler's users call it."""
import asyncio
import functools
import inspect
import io
import sys
import types

import pytest

import lineprof
from conftest import run_python
from lineprof import LineProfiler, LineStats


def key_of(func):
    code = inspect.unwrap(getattr(func, "__func__", func)).__code__
    return (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))


def hits(profiler, func):
    return {lineno: count for lineno, count, _ in profiler.get_stats().timings[key_of(func)]}


def total_hits(profiler, func):
    return sum(hits(profiler, func).values())


def plain(n):
    total = 0
    for i in range(n):
        total += i
    return total


def test_decorated_function_keeps_its_metadata_and_result():
    profiler = LineProfiler()

    def documented(x):
        """Doubles."""
        return 2 * x

    wrapped = profiler(documented)
    assert wrapped(4) == 8
    assert wrapped.__name__ == "documented" and wrapped.__doc__ == "Doubles."
    assert wrapped.__wrapped__ is documented
    assert total_hits(profiler, documented) == 1


def test_generators_coroutines_async_generators_stay_what_they_are():
    profiler = LineProfiler()

    @profiler
    def gen(n):
        for i in range(n):
            received = yield i
            if received:
                yield received

    @profiler
    async def coro(n):
        await asyncio.sleep(0)
        return n

    @profiler
    async def agen(n):
        for i in range(n):
            yield i

    assert inspect.isgeneratorfunction(gen)
    assert inspect.iscoroutinefunction(coro)
    assert inspect.isasyncgenfunction(agen)
    assert list(gen(3)) == [0, 1, 2]
    g = gen(3)
    assert next(g) == 0 and g.send(7) == 7
    with pytest.raises(KeyError):
        g.throw(KeyError("x"))
    assert asyncio.run(coro(5)) == 5

    async def consume():
        return [x async for x in agen(3)]
    assert asyncio.run(consume()) == [0, 1, 2]
    first = inspect.unwrap(coro).__code__.co_firstlineno
    assert hits(profiler, coro) == {first + 2: 1, first + 3: 1}
    assert total_hits(profiler, agen) > 0 and total_hits(profiler, gen) > 0


def test_generator_is_profiled_only_while_it_runs():
    profiler = LineProfiler(plain)

    @profiler
    def gen():
        yield 1
        yield 2

    g = gen()
    next(g)
    plain(5)            # between steps: the generator's wrapper has stopped
    next(g)
    assert total_hits(profiler, plain) == 0


class Vector:
    def __init__(self, x):
        self.x = x

    def norm(self):
        return abs(self.x)

    @classmethod
    def zero(cls):
        return cls(0)

    @staticmethod
    def dimension():
        return 1

    @property
    def double(self):
        return self.x * 2

    @double.setter
    def double(self, value):
        self.x = value / 2

    class Nested:
        def inner(self):
            return 3


def test_add_class_profiles_every_kind_of_method():
    profiler = LineProfiler()
    added = profiler.add_class(Vector)
    assert added == 7
    with profiler:
        v = Vector.zero()
        v.norm()
        Vector.dimension()
        v.double = 4
        assert v.double == 4
        Vector.Nested().inner()
    timings = profiler.get_stats().timings
    names = {name for (_, _, name), lines in timings.items() if lines}
    expected = {"__init__", "norm", "zero", "dimension", "double", "inner"}
    if sys.version_info >= (3, 11):
        expected = {"Vector." + name for name in expected - {"inner"}} | {"Vector.Nested.inner"}
    assert names == expected


def test_decorating_a_class_profiles_its_methods_and_returns_it():
    profiler = LineProfiler()

    @profiler
    class Counter:
        def bump(self):
            return 1

    assert isinstance(Counter, type)
    with profiler:
        Counter().bump()
    assert total_hits(profiler, Counter.bump) == 1


def test_decorating_methods_properties_classmethods_staticmethods():
    profiler = LineProfiler()

    class Thing:
        @profiler
        def method(self):
            return 1

        @profiler
        @classmethod
        def klass(cls):
            return 2

        @profiler
        @staticmethod
        def static():
            return 3

        @profiler
        @property
        def prop(self):
            return 4

    thing = Thing()
    assert (thing.method(), Thing.klass(), Thing.static(), thing.prop) == (1, 2, 3, 4)
    for func in (Thing.method, Thing.klass, Thing.static, Thing.prop.fget):
        assert total_hits(profiler, func) == 1


def test_add_module_profiles_functions_and_classes_defined_there():
    module = types.ModuleType("made_up")
    source = "import os\ndef f():\n    return 1\nclass K:\n    def m(self):\n        return 2\n"
    exec(compile(source, "<made_up>", "exec"), module.__dict__)
    profiler = LineProfiler()
    assert profiler.add_module(module) == 2      # f and K.m, not os.*


def test_add_function_unwraps_partials_and_wrappers():
    profiler = LineProfiler()

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args):
            return func(*args)
        return wrapper

    profiler.add_function(functools.partial(plain, 3))
    profiler.add_function(decorator(plain))      # same code: not added twice
    with profiler:
        plain(3)
    assert len(profiler.get_stats().timings) == 1
    assert hits(profiler, plain)[plain.__code__.co_firstlineno + 3] == 3


def test_add_function_refuses_a_builtin_clearly():
    with pytest.raises(TypeError, match="lineprof: cannot profile"):
        LineProfiler().add_function(len)


def test_enable_disable_and_by_count_nesting():
    profiler = LineProfiler(plain)
    profiler.enable_by_count()
    profiler.enable_by_count()
    profiler.disable_by_count()
    plain(2)                            # still on: one enable left
    profiler.disable_by_count()
    plain(2)                            # off
    profiler.enable()
    plain(2)
    profiler.disable()
    plain(2)
    assert hits(profiler, plain)[plain.__code__.co_firstlineno + 1] == 2


def test_runcall_runctx_run():
    profiler = LineProfiler(plain)
    assert profiler.runcall(plain, 3) == 3
    namespace = {"plain": plain}
    assert profiler.runctx("result = plain(4)", namespace, namespace) is profiler
    assert namespace["result"] == 6
    import __main__
    __main__.__dict__["_lineprof_test_plain"] = plain
    try:
        profiler.run("_lineprof_test_plain(1)")
    finally:
        del __main__.__dict__["_lineprof_test_plain"]
    assert hits(profiler, plain)[plain.__code__.co_firstlineno + 1] == 3


def test_get_stats_lists_every_function_in_nanoseconds():
    def never_called():
        return 0
    profiler = LineProfiler(plain, never_called)
    profiler.runcall(plain, 10)
    stats = profiler.get_stats()
    assert isinstance(stats, LineStats)
    assert stats.unit == 1e-9
    assert stats.timings[key_of(never_called)] == []
    rows = stats.timings[key_of(plain)]
    assert [lineno for lineno, _, _ in rows] == sorted(lineno for lineno, _, _ in rows)
    assert all(isinstance(time, int) and time >= 0 for _, _, time in rows)
    assert set(stats.code_hashes) == set(stats.timings)
    assert stats.metadata["python"] == sys.version.split()[0]
    assert stats.metadata["backend"] == lineprof._tracer.BACKEND


def test_qualified_names_on_3_11_and_later():
    class Outer:
        def method(self):
            return 1
    profiler = LineProfiler(Outer.method)
    (name,) = [name for (_, _, name) in profiler.get_stats().timings]
    expected = ("test_qualified_names_on_3_11_and_later.<locals>.Outer.method"
                if sys.version_info >= (3, 11) else "method")
    assert name == expected


def test_print_stats_and_dump_stats(tmp_path):
    profiler = LineProfiler(plain)
    profiler.runcall(plain, 5)
    stream = io.StringIO()
    profiler.print_stats(stream=stream, output_unit=1e-6)
    text = stream.getvalue()
    assert text.startswith("Timer unit: 1e-06 s\n")
    assert "Function: plain at line %d" % plain.__code__.co_firstlineno in text
    path = tmp_path / "out.lprof"
    profiler.dump_stats(str(path))
    assert lineprof.load_stats(str(path)) == profiler.get_stats()


def test_two_profilers_each_see_their_own_functions():
    def other():
        return 1
    first, second = LineProfiler(plain), LineProfiler(other, plain)
    first.enable()
    second.enable()
    plain(2)
    other()
    second.disable()
    plain(2)
    first.disable()
    assert key_of(other) not in first.get_stats().timings
    assert total_hits(first, plain) == 2 * total_hits(second, plain)
    assert total_hits(second, other) == 1


TOOL_ID_SCRIPT = """
import sys
from lineprof import LineProfiler

def plain(n):
    total = 0
    for i in range(n):
        total += i
    return total

monitoring = sys.monitoring
monitoring.use_tool_id(monitoring.PROFILER_ID, "someone else")
profiler = LineProfiler(plain)
profiler.enable()
ours = [i for i in range(6) if monitoring.get_tool(i) == "lineprof"]
plain(3)
profiler.disable()
print("ours", ours)
print("hits", sum(h for rows in profiler.get_stats().timings.values() for _, h, _ in rows))
print("released", "lineprof" not in [monitoring.get_tool(i) for i in range(6)])
for tool in range(6):
    if monitoring.get_tool(tool) is None:
        monitoring.use_tool_id(tool, "someone else")
try:
    LineProfiler(plain).enable()
except RuntimeError as error:
    print("error", error)
decorated = LineProfiler()(plain)
print("still runs", decorated(4), decorated(4))
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_takes_another_tool_id_when_profiler_id_is_taken_and_fails_clearly_when_none_is_free(
        tmp_path):
    result = run_python(["-c", TOOL_ID_SCRIPT], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ours [3]"
    assert lines[1] == "hits 9"
    assert lines[2] == "released True"
    message = "lineprof: every sys.monitoring tool id (0-5) is taken by other tools"
    assert lines[3] == "error " + message
    assert lines[4] == "still runs 6 6"        # the decorator does not break the program
    assert result.stderr == message + "; profiling is off\n"     # said once


PROFILER_FOR_PICKLING = LineProfiler()


@PROFILER_FOR_PICKLING
def pickled_by_name(x):
    return x * 3


def test_a_decorated_function_behaves_like_a_function():
    import pickle
    import weakref
    assert pickle.loads(pickle.dumps(pickled_by_name)) is pickled_by_name
    assert inspect.signature(pickled_by_name) == inspect.signature(pickled_by_name.__wrapped__)
    assert weakref.ref(pickled_by_name)() is pickled_by_name
    assert pickled_by_name.__name__ == "pickled_by_name"
    assert pickled_by_name.__module__ == __name__
    assert "pickled_by_name" in repr(pickled_by_name)
    assert pickled_by_name(x=2) == 6


def test_a_decorated_call_that_raises_still_switches_profiling_off():
    profiler = LineProfiler(plain)

    @profiler
    def failing():
        raise KeyError("no")

    for _ in range(3):
        with pytest.raises(KeyError, match="no"):
            failing()
    plain(2)                                # profiling is off again
    assert key_of(plain) in profiler.get_stats().timings
    assert total_hits(profiler, plain) == 0
    assert total_hits(profiler, failing) == 3


def test_decorated_methods_bind_to_their_instance():
    profiler = LineProfiler()

    class Greeter:
        def __init__(self, name):
            self.name = name

        @profiler
        def greet(self, greeting="hi"):
            return "%s %s" % (greeting, self.name)

    greeter = Greeter("ada")
    assert greeter.greet() == "hi ada"
    assert greeter.greet(greeting="yo") == "yo ada"
    assert Greeter.greet(greeter) == "hi ada"
    bound = greeter.greet
    assert bound() == "hi ada"
    assert total_hits(profiler, Greeter.greet) == 4


def test_a_decorated_generator_keeps_send_throw_close_and_its_return_value():
    profiler = LineProfiler()

    @profiler
    def steps(n):
        try:
            for i in range(n):
                received = yield i
                if received:
                    yield received * 10
        except KeyError:
            yield "caught"
        return "done"

    assert list(steps(3)) == [0, 1, 2]
    generator = steps(5)
    assert next(generator) == 0
    assert generator.send(7) == 70
    assert generator.throw(KeyError("k")) == "caught"
    with pytest.raises(StopIteration) as stop:
        next(generator)
    assert stop.value.value == "done"

    def delegating():
        return (yield from steps(2))
    assert list(delegating()) == [0, 1]
    closed = steps(4)
    next(closed)
    closed.close()
    first = inspect.unwrap(steps).__code__.co_firstlineno
    # the first yield line: 3 (list) + 1 (next) + 2 (delegating) + 1 (closed)
    assert hits(profiler, steps)[first + 4] == 7


def test_calls_are_counted_and_a_generators_resumes_are_not_calls():
    def gen(n):
        for i in range(n):
            yield i

    def plain(x):
        return x

    profiler = LineProfiler(gen, plain)
    with profiler:
        for i in range(4):
            plain(i)
        assert list(gen(3)) == [0, 1, 2]
        assert list(gen(2)) == [0, 1]
    plain(9)        # not profiled: profiling is off
    stats = profiler.get_stats()
    calls = {name.rpartition(".")[2]: count for (_, _, name), count in stats.calls.items()}
    assert calls == {"plain": 4, "gen": 2}
