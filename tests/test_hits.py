"""Hit counts equal sys.settrace's line events, line by line, for every test
program on the running Python; and line_profiler's, where it installs."""
import dis
import importlib
import inspect
import sys

import pytest

from lineprof import LineProfiler
from settrace_reference import SettraceCounter

PROGRAMS = ["loops", "comprehensions", "generators", "coroutines", "recursion",
            "exceptions", "classes", "threads"]
if sys.version_info >= (3, 10):
    PROGRAMS.append("matching")


def code_of(func):
    return inspect.unwrap(getattr(func, "__func__", func)).__code__


def key_of(code):
    return (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))


def reference_hits(module):
    codes = [code_of(func) for func in module.PROFILED]
    with SettraceCounter(codes) as reference:
        module.run()
    return {key_of(code): reference.hits_of(code) for code in codes}


def lineprof_hits(module):
    profiler = LineProfiler(*module.PROFILED)
    profiler.enable()
    try:
        module.run()
    finally:
        profiler.disable()
    timings = profiler.get_stats().timings
    return {key: {lineno: hits for lineno, hits, _ in lines} for key, lines in timings.items()}


@pytest.mark.parametrize("name", PROGRAMS)
def test_hits_equal_settrace_line_events(name):
    module = importlib.import_module("programs." + name)
    expected = reference_hits(module)
    assert any(expected.values()), "the program ran no profiled line"
    assert lineprof_hits(module) == expected


@pytest.mark.parametrize("name", PROGRAMS)
def test_hits_through_the_decorator_equal_settrace(name):
    """The @profile path (enable_by_count around each call) counts the same."""
    module = importlib.import_module("programs." + name)
    expected = reference_hits(module)
    profiler = LineProfiler(*module.PROFILED)
    profiler.enable_by_count()
    try:
        module.run()
    finally:
        profiler.disable_by_count()
    timings = profiler.get_stats().timings
    got = {key: {lineno: hits for lineno, hits, _ in lines} for key, lines in timings.items()}
    if name == "threads" and sys.version_info < (3, 12):
        # By count, only the calling thread is traced before 3.12 (DESIGN.md):
        # the threads' own decorated calls would trace them.
        spin = key_of(code_of(module.spin))
        assert got.pop(spin) == {}
        expected.pop(spin)
    assert got == expected


def lines_jumping_back_to_themselves(code):
    """Lines with a backward jump to the same line (a one-line loop, an
    inlined comprehension on 3.12+): settrace counts each such jump as a hit."""
    instructions = list(dis.get_instructions(code))
    line_at, line = {}, None
    for instruction in instructions:
        positions = getattr(instruction, "positions", None)
        line = positions.lineno if positions and positions.lineno else line
        line_at[instruction.offset] = line
    return {line_at[i.offset] for i in instructions
            if i.opcode in dis.hasjrel + dis.hasjabs and isinstance(i.argval, int)
            and i.argval < i.offset and line_at.get(i.argval) == line_at[i.offset]}


@pytest.mark.parametrize("name", PROGRAMS)
def test_hits_equal_line_profiler(name):
    line_profiler = pytest.importorskip("line_profiler")
    module = importlib.import_module("programs." + name)
    functions = [inspect.unwrap(getattr(func, "__func__", func)) for func in module.PROFILED]
    # line_profiler times the wrapper of a decorated function, lineprof the
    # function itself (it follows __wrapped__): give line_profiler the latter.
    theirs = line_profiler.LineProfiler(*functions)
    theirs.enable_by_count()
    try:
        module.run()
    finally:
        theirs.disable_by_count()
    their_hits = {(filename, first): {lineno: hits for lineno, hits, _ in lines}
                  for (filename, first, _), lines in theirs.get_stats().timings.items()}
    ours = {(filename, first): hits for (filename, first, _), hits in lineprof_hits(module).items()}
    for func in functions:
        code = func.__code__
        key = (code.co_filename, code.co_firstlineno)
        mine, other = ours.get(key, {}), their_hits.get(key, {})
        if name == "threads" and not other:
            continue    # line_profiler traces only the enabling thread before 3.12
        # Known difference on 3.12+: line_profiler misses settrace's extra hit
        # for a backward jump to the same line; lineprof counts it.
        special = lines_jumping_back_to_themselves(code) if sys.version_info >= (3, 12) else set()
        assert {l: h for l, h in mine.items() if l not in special} == \
            {l: h for l, h in other.items() if l not in special}, key
        for line in special:
            assert mine.get(line, 0) >= other.get(line, 0), (key, line)
