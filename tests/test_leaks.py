"""Profiling leaves nothing behind: many cycles of making a profiler,
profiling fresh functions and dropping it do not grow the objects the
collector tracks, the memory tracemalloc sees, or (in debug builds) the total
reference count; and the profiler keeps no function, code object or frame
alive once it is dropped (frames: not even while it lives)."""
import gc
import sys
import sysconfig
import threading
import tracemalloc
import weakref

import pytest

from lineprof import LineProfiler

CYCLES = 200
ROUNDS = 3

SOURCE = '''\
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def numbers(n):
    for i in range(n):
        yield i


def plain(n):
    return [i * 2 for i in range(n)]
'''


# Free-threaded CPython 3.13 makes functions and code objects immortal once a
# second thread has run (its stopgap for reference-count contention, dropped
# in 3.14; seen without lineprof): fresh functions are never freed there.
IMMORTAL_FUNCTIONS = bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and sys.version_info < (3, 14)


def in_a_thread(n):
    """Run by a thread started while profiling."""
    total = 0
    for i in range(n):
        total += i
    return total


def compiled_functions():
    namespace = {}
    exec(compile(SOURCE, "leak_program.py", "exec"), namespace)
    return namespace


REUSED_FUNCTIONS = compiled_functions()


def fresh_functions():
    """New functions with new code objects (compiled again), so that a
    reference the profiler kept to either would keep it, and its memory.
    Where functions are immortal the same ones every time: the growth
    measured is then lineprof's own (its registry, counts, stacks)."""
    return REUSED_FUNCTIONS if IMMORTAL_FUNCTIONS else compiled_functions()


def profile_once():
    """One cycle: profile fresh functions every way, read the stats, drop all."""
    functions = fresh_functions()
    profiler = LineProfiler()
    work, numbers = profiler(functions["work"]), profiler(functions["numbers"])
    work(10)
    list(numbers(3))
    abandoned = numbers(5)
    next(abandoned)
    del abandoned
    profiler.add_function(functions["plain"])
    profiler.add_function(in_a_thread)
    profiler.enable()
    functions["plain"](3)
    thread = threading.Thread(target=in_a_thread, args=(5,))
    thread.start()
    thread.join()
    profiler.disable()
    with profiler:
        functions["plain"](2)
    assert len(profiler.get_stats().timings) == 4


def settled():
    """Collects garbage and empties the type attribute cache, which keeps the
    last few thousand attribute names looked up on types alive (C code that
    looks names up by a C string makes a new one each time)."""
    gc.collect()
    # _clear_type_cache is deprecated from 3.13 in favour of _clear_internal_caches.
    (getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache)()


def smallest_growth(measure):
    """The least growth of measure() over ROUNDS rounds of CYCLES cycles,
    after a warm-up: a leak grows it every round, while the interpreter's
    containers resize in some rounds only."""
    for _ in range(CYCLES // 4):
        profile_once()
    growths = []
    for _ in range(ROUNDS):
        settled()
        before = measure()
        for _ in range(CYCLES):
            profile_once()
        settled()
        growths.append(measure() - before)
    return min(growths)


def test_objects_tracked_by_the_collector_do_not_grow():
    # A leak of one object of a collected type (a function, a list) per
    # cycle would grow them by CYCLES.
    assert smallest_growth(lambda: len(gc.get_objects())) < CYCLES // 10


def test_traced_memory_does_not_grow():
    # A leak of the smallest object (an int, 28 bytes) per cycle would grow
    # it by more than 5 KB; the fresh code objects are bigger still.
    tracemalloc.start()
    try:
        growth = smallest_growth(lambda: tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert growth < CYCLES * 16


@pytest.mark.skipif(not hasattr(sys, "gettotalrefcount"), reason="needs a debug build of Python")
def test_total_reference_count_does_not_grow():
    assert smallest_growth(sys.gettotalrefcount) < CYCLES // 10


# ---- what the profiler keeps alive ----------------------------------------

class Canary:
    """Referenced only by a local variable of a profiled frame."""


@pytest.mark.skipif(IMMORTAL_FUNCTIONS, reason="free-threaded CPython 3.13 never frees functions "
                                               "once a second thread has run")
@pytest.mark.parametrize("keep_the_wrapper", [False, True])
def test_functions_and_code_objects_are_freed_with_the_profiler(keep_the_wrapper):
    functions = fresh_functions()
    profiler = LineProfiler()
    wrapped = profiler(functions["work"])
    wrapped(3)
    profiler.add_function(functions["plain"])
    profiler.enable()
    functions["plain"](2)
    profiler.disable()
    profiler.enable_by_count()
    functions["plain"](1)
    profiler.disable_by_count()
    assert profiler.get_stats().timings
    refs = [weakref.ref(functions[name]) for name in ("work", "plain")]
    refs += [weakref.ref(functions[name].__code__) for name in ("work", "plain")]
    del functions
    gc.collect()
    # The profiler keeps the functions it was given, as line_profiler does.
    assert all(ref() is not None for ref in refs)
    del profiler
    if not keep_the_wrapper:
        del wrapped
    gc.collect()
    if keep_the_wrapper:
        # The wrapper keeps the function it wraps (and through its globals
        # the other one) and the tracer, which keeps the code it profiles.
        assert all(ref() is not None for ref in refs)
        assert wrapped(4) == 6
        del wrapped
        gc.collect()
    assert all(ref() is None for ref in refs)


CANARY_SOURCE = '''\
def keeps_a_canary(canary_type, refs):
    canary = canary_type()
    refs.append(weakref.ref(canary))
    return len(refs)


def yields_with_a_canary(canary_type, refs):
    canary = canary_type()
    refs.append(weakref.ref(canary))
    for i in range(10):
        yield i
'''


@pytest.mark.parametrize("how", ["enable", "decorator"])
def test_frames_are_not_kept_alive(how):
    """An object referenced only by a local of a profiled frame is freed when
    the frame ends (a generator's: when it is dropped half-way), while the
    profiler lives and after it is dropped."""
    namespace = {"weakref": weakref}
    exec(compile(CANARY_SOURCE, "canaries.py", "exec"), namespace)
    profiler = LineProfiler()
    if how == "decorator":
        keeps_a_canary = profiler(namespace["keeps_a_canary"])
        yields_with_a_canary = profiler(namespace["yields_with_a_canary"])
    else:
        keeps_a_canary = namespace["keeps_a_canary"]
        yields_with_a_canary = namespace["yields_with_a_canary"]
        profiler.add_function(keeps_a_canary)
        profiler.add_function(yields_with_a_canary)
        profiler.enable()
    refs = []
    keeps_a_canary(Canary, refs)
    generator = yields_with_a_canary(Canary, refs)
    next(generator)
    next(generator)
    assert refs[1]() is not None        # the suspended generator holds it
    del generator
    gc.collect()
    assert [ref() for ref in refs] == [None, None]
    if how == "enable":
        profiler.disable()
    hits = {name: sum(hits for _, hits, _ in rows)
            for (_, _, name), rows in profiler.get_stats().timings.items()}
    assert hits == {"keeps_a_canary": 3, "yields_with_a_canary": 6}

    # Dropped half-way while profiling is on, then the profiler dropped too.
    if how == "enable":
        profiler.enable()
    generator = yields_with_a_canary(Canary, refs)
    next(generator)
    del profiler, keeps_a_canary, yields_with_a_canary, namespace
    gc.collect()
    assert refs[2]() is not None
    del generator
    gc.collect()
    assert refs[2]() is None
