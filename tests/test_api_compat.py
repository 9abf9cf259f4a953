"""What line_profiler 5.1's users type and call behaves the same (issue 12,
the API): decorating classes and every kind of callable, add_callable,
add_class and add_module with scoping_policy= and wrap=, and the
wrap_trace / set_frame_local_trace keywords. Where line_profiler is
installed, each case runs on both and the results are compared; the
expected results are asserted either way."""
import functools
import inspect
import sys
import textwrap
import types
import warnings

import pytest

import lineprof
from lineprof import LineProfiler

try:
    import line_profiler
except ImportError:
    line_profiler = None

MONITORING = sys.version_info >= (3, 12)


def profilers():
    """lineprof's LineProfiler class, and line_profiler's where installed."""
    kinds = [LineProfiler]
    if line_profiler is not None:
        kinds.append(line_profiler.LineProfiler)
    return kinds


def lines_hit(profiler):
    """{first line of each function: {line: hits}} of the lines that ran."""
    found = {}
    for (_, first, _), rows in profiler.get_stats().timings.items():
        hit = {lineno: hits for lineno, hits, _ in rows if hits}
        if hit:
            found[first] = hit
    return found


def first_lines(functions):
    return sorted({func.__code__.co_firstlineno for func in functions})


def make_module(name, source):
    """A module named name, from source, as an import would make it."""
    module = types.ModuleType(name)
    exec(compile(textwrap.dedent(source), "<%s>" % name, "exec"), module.__dict__)
    return module


def outside(x):
    return x + 1


def make_class():
    """A fresh class with every kind of member (decorating changes it)."""
    class Sample:
        def method(self):
            return 1

        @classmethod
        def klass(cls):
            return 2

        @staticmethod
        def static():
            return 3

        @property
        def prop(self):
            return 4

        @functools.cached_property
        def cached(self):
            return 5

        def _add(self, a, b):
            return a + b

        partial_method = functools.partialmethod(_add, 10)

        class Inner:
            def inner_method(self):
                return 6

        # Assigned from outside: not defined in the class.
        external_static = staticmethod(outside)
        external_alias = outside

    return Sample


def use(cls):
    obj = cls()
    return (obj.method(), cls.klass(), cls.static(), obj.prop, obj.cached,
            obj.partial_method(1), cls.Inner().inner_method(), cls.external_static(1),
            cls.external_alias)


def sample_first_lines(cls):
    return sorted([cls.method.__code__.co_firstlineno,
                   cls.__dict__["klass"].__func__.__code__.co_firstlineno,
                   cls.__dict__["static"].__func__.__code__.co_firstlineno,
                   cls.__dict__["prop"].fget.__code__.co_firstlineno,
                   cls.__dict__["cached"].func.__code__.co_firstlineno,
                   cls.__dict__["partial_method"].func.__code__.co_firstlineno,
                   cls.Inner.inner_method.__code__.co_firstlineno])


# ---- 1. decorating a class -----------------------------------------------------

@pytest.mark.parametrize("kind", profilers(), ids=lambda kind: kind.__module__)
def test_a_decorated_class_records_hits_without_enabling(kind):
    profiler = kind()
    cls = make_class()
    expected_lines = sample_first_lines(cls)
    assert profiler(cls) is cls
    assert use(cls) == (1, 2, 3, 4, 5, 11, 6, 2, outside)
    hit = lines_hit(profiler)
    # Every member defined in the class ran profiled, once; what was only
    # assigned into it from outside (staticmethod(outside), outside) was not.
    assert sorted(hit) == expected_lines
    assert all(set(lines.values()) == {1} for lines in hit.values())
    assert outside.__code__.co_firstlineno not in hit
    assert first_lines(profiler.functions) == expected_lines
    # The members keep their kinds.
    for name, kind_of_member in [("klass", classmethod), ("static", staticmethod),
                                 ("prop", property), ("cached", functools.cached_property),
                                 ("partial_method", functools.partialmethod),
                                 ("external_static", staticmethod)]:
        assert type(cls.__dict__[name]) is kind_of_member, name
    assert cls.__dict__["external_static"].__func__ is outside
    assert cls.__dict__["external_alias"] is outside


def test_decorating_a_class_twice_profiles_each_call_once():
    profiler = LineProfiler()
    cls = make_class()
    line = cls.method.__code__.co_firstlineno
    profiler(cls)
    method = cls.__dict__["method"]
    profiler(cls)
    assert cls.__dict__["method"] is method
    cls().method()
    assert lines_hit(profiler) == {line: {line + 1: 1}}


def test_a_decorated_class_under_kernprof(tmp_path, kernprof):
    (tmp_path / "prog.py").write_text(textwrap.dedent("""\
        @profile
        class Shape:
            def area(self):
                return 6

            @staticmethod
            def sides():
                return 4

            @property
            def name(self):
                return "square"

        shape = Shape()
        print(shape.area(), Shape.sides(), shape.name)
        """))
    result = kernprof("-l", "-v", "prog.py")
    assert result.returncode == 0, result.stderr
    assert "6 4 square" in result.stdout
    stats = lineprof.load_stats(str(tmp_path / "prog.py.lprof"))
    hits = {lineno: count for rows in stats.timings.values() for lineno, count, _ in rows}
    assert hits == {4: 1, 8: 1, 12: 1}


# ---- 2. decorating keeps the kind of object --------------------------------------

def plain(a, b=2):
    return a + b


class Holder:
    def method(self, x):
        return x * 2


@pytest.mark.parametrize("kind", profilers(), ids=lambda kind: kind.__module__)
def test_decorating_keeps_the_kind_of_object(kind):
    profiler = kind()
    holder = Holder()
    bound = profiler(holder.method)
    assert isinstance(bound, types.MethodType) and bound.__self__ is holder
    assert bound(4) == 8

    partial = profiler(functools.partial(plain, 1, b=5))
    assert isinstance(partial, functools.partial)
    assert (partial.args, partial.keywords) == ((1,), {"b": 5})
    assert partial() == 6

    assert profiler(len) is len
    assert profiler(str.upper) is str.upper

    wrapper = profiler(plain)
    assert profiler(wrapper) is wrapper
    assert wrapper(1) == 3

    assert first_lines(profiler.functions) == first_lines([Holder.method, plain])
    assert all(isinstance(func, types.FunctionType) for func in profiler.functions)
    hit = lines_hit(profiler)
    assert hit == {Holder.method.__code__.co_firstlineno: {Holder.method.__code__.co_firstlineno + 1: 1},
                   plain.__code__.co_firstlineno: {plain.__code__.co_firstlineno + 1: 2}}


@pytest.mark.parametrize("kind", profilers(), ids=lambda kind: kind.__module__)
def test_cached_property_and_partialmethod_are_profiled(kind):
    profiler = kind()

    class Lazy:
        @profiler
        @functools.cached_property
        def value(self):
            return 42

        def _scale(self, factor, x):
            return factor * x

        triple = profiler(functools.partialmethod(_scale, 3))

    assert type(Lazy.__dict__["value"]) is functools.cached_property
    assert Lazy.__dict__["value"].attrname == "value"
    assert type(Lazy.__dict__["triple"]) is functools.partialmethod
    lazy = Lazy()
    assert (lazy.value, lazy.value, lazy.triple(2)) == (42, 42, 6)
    hit = lines_hit(profiler)
    value_line = inspect.unwrap(Lazy.__dict__["value"].func).__code__.co_firstlineno
    scale_line = Lazy._scale.__code__.co_firstlineno
    assert hit == {value_line: {value_line + 3: 1}, scale_line: {scale_line + 1: 1}}


def test_another_profilers_wrapper_is_wrapped_again():
    first, second = LineProfiler(), LineProfiler()
    once = first(plain)
    twice = second(once)
    assert twice is not once
    assert twice(1) == 3
    line = plain.__code__.co_firstlineno
    assert lines_hit(first) == lines_hit(second) == {line: {line + 1: 1}}


def test_a_wrapper_around_a_profiled_function_is_not_taken_for_it():
    profiler = LineProfiler()
    inner = profiler(plain)

    @functools.wraps(inner)
    def outer(*args):
        return inner(*args)

    assert profiler(outer) is not outer


# ---- 3. add_callable, add_class, add_module ---------------------------------------

@pytest.mark.parametrize("kind", profilers(), ids=lambda kind: kind.__module__)
def test_add_callable(kind):
    profiler = kind()
    assert profiler.add_callable(Holder().method) == 1
    assert profiler.add_callable(len) == 0
    assert profiler.add_callable(functools.partial(plain, 1)) == 1
    assert profiler.add_callable(property(plain)) == 1
    wrapper = profiler(plain)
    assert profiler.add_callable(wrapper) == 0      # its own wrapper
    with pytest.raises(TypeError):
        profiler.add_callable(42)
    assert first_lines(profiler.functions) == first_lines([Holder.method, plain])


POLICY_CLASS = '''
def helper():
    return 0

class Other:
    def other_method(self):
        return 1

class Outer:
    def method(self):
        return 2

    class Nested:
        def nested_method(self):
            return 3

    as_classmethod = classmethod(Nested)
    referenced = Other
    alias = helper
'''


@pytest.mark.parametrize("policy", [None, "exact", "children", "descendants", "siblings",
                                    "none", "CHILDREN",
                                    {"func": "children", "class": "siblings", "module": "exact"}])
def test_add_class_scoping_policies(policy):
    module = make_module("policy_mod", POLICY_CLASS)
    expected = {
        None: {"method", "nested_method", "other_method", "helper"},
        "exact": {"method"},
        "children": {"method", "nested_method"},
        "descendants": {"method", "nested_method"},
        "siblings": {"method", "nested_method", "other_method", "helper"},
        "none": {"method", "nested_method", "other_method", "helper"},
        "CHILDREN": {"method", "nested_method"},
    }.get(policy if isinstance(policy, str) or policy is None else "dict",
          {"method", "nested_method", "other_method"})
    results = []
    for kind in profilers():
        profiler = kind()
        count = profiler.add_class(module.Outer, scoping_policy=policy)
        names = {func.__name__ for func in profiler.functions}
        assert names == expected, kind
        results.append(names)
        if kind is LineProfiler:
            assert count == len(expected)
    assert all(names == results[0] for names in results)


def test_add_class_rejects_an_unknown_policy():
    with pytest.raises(ValueError):
        LineProfiler().add_class(Holder, scoping_policy="everything")


@pytest.mark.parametrize("kind", profilers(), ids=lambda kind: kind.__module__)
def test_add_class_wrap_replaces_the_members(kind):
    module = make_module("wrap_mod", POLICY_CLASS)
    profiler = kind()
    original = module.Outer.__dict__["method"]
    profiler.add_class(module.Outer, scoping_policy="children", wrap=True)
    assert module.Outer.__dict__["method"] is not original
    assert module.Outer().method() == 2
    assert module.Outer.Nested().nested_method() == 3
    line = original.__code__.co_firstlineno
    nested_line = inspect.unwrap(module.Outer.Nested.__dict__["nested_method"]).__code__.co_firstlineno
    assert lines_hit(profiler) == {line: {line + 1: 1}, nested_line: {nested_line + 1: 1}}


def test_add_class_without_wrap_leaves_the_class_alone():
    module = make_module("nowrap_mod", POLICY_CLASS)
    original = dict(vars(module.Outer))
    LineProfiler().add_class(module.Outer)
    assert dict(vars(module.Outer)) == original


@pytest.mark.parametrize("kind", profilers(), ids=lambda kind: kind.__module__)
def test_what_cannot_be_wrapped_is_warned_of(kind):
    class Frozen(type):
        def __setattr__(cls, name, value):
            raise AttributeError("frozen")

    class Locked(metaclass=Frozen):
        def method(self):
            return 1

    profiler = kind()
    with pytest.warns(UserWarning, match="cannot wrap 1 attribute"):
        profiler.add_class(Locked, wrap=True)
    with pytest.warns(UserWarning, match="cannot wrap 1 attribute"):
        assert profiler(Locked) is Locked


PACKAGE = {
    "pkg.tools": '''
def tool():
    return 1
''',
    "pkg.main.sub": '''
def deep():
    return 3
''',
}


@pytest.mark.parametrize("policy, expected", [
    (None, {"run", "go", "tool"}),              # siblings: the package's functions too
    ("exact", {"run"}),
    ("children", {"run", "go", "deep"}),
    ("descendants", {"run", "go", "deep"}),
])
def test_add_module_scoping_policies(policy, expected):
    main = types.ModuleType("pkg.main")
    exec(compile(textwrap.dedent('''
        def run():
            return 0
        class Job:
            def go(self):
                return 2
        '''), "<pkg.main>", "exec"), main.__dict__)
    main.tool = make_module("pkg.tools", PACKAGE["pkg.tools"]).tool
    main.sub = make_module("pkg.main.sub", PACKAGE["pkg.main.sub"])
    main.os = sys.modules["os"]
    results = []
    for kind in profilers():
        profiler = kind()
        profiler.add_module(main, scoping_policy=policy)
        names = {func.__name__ for func in profiler.functions}
        assert names == expected, kind
        results.append(names)
    assert all(names == results[0] for names in results)


def test_add_module_wrap():
    module = make_module("wrapped_module", '''
        def work():
            return 5
        ''')
    original = module.work
    profiler = LineProfiler()
    assert profiler.add_module(module, wrap=True) == 1
    assert module.work is not original and module.work() == 5
    line = original.__code__.co_firstlineno
    assert lines_hit(profiler) == {line: {line + 1: 1}}


# ---- 3. wrap_trace and set_frame_local_trace ----------------------------------------

def test_trace_keywords_are_accepted():
    profiler = LineProfiler(plain, wrap_trace=True, set_frame_local_trace=True)
    assert profiler.wrap_trace is True
    # Frames have no local trace function under sys.monitoring: false there,
    # as in line_profiler.
    assert profiler.set_frame_local_trace is (not MONITORING)
    assert LineProfiler(wrap_trace=False).wrap_trace is False
    with profiler:
        plain(1)
    line = plain.__code__.co_firstlineno
    assert lines_hit(profiler) == {line: {line + 1: 1}}


def test_trace_keywords_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("LINE_PROFILER_WRAP_TRACE", "yes")
    monkeypatch.setenv("LINE_PROFILER_SET_FRAME_LOCAL_TRACE", "0")
    profiler = LineProfiler()
    assert profiler.wrap_trace is True and profiler.set_frame_local_trace is False
    monkeypatch.delenv("LINE_PROFILER_WRAP_TRACE")
    assert LineProfiler().wrap_trace is False


@pytest.mark.skipif(not MONITORING, reason="3.12+: lineprof uses sys.monitoring")
def test_another_tools_settrace_is_unaffected_on_312():
    profiler = LineProfiler(plain)
    seen = []

    def tracer(frame, event, arg):
        if frame.f_code is plain.__code__:
            seen.append(event)
        return tracer

    with profiler:
        sys.settrace(tracer)
        try:
            plain(1)
        finally:
            sys.settrace(None)
    assert "line" in seen
    line = plain.__code__.co_firstlineno
    assert lines_hit(profiler) == {line: {line + 1: 1}}
