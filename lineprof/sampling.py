"""Sampled calls: `lineprof.profile` left in deployed code (issue 13).

With LINEPROF_SAMPLE=P (or profile(sample=P)) each outermost decorated call
is profiled with probability P; with LINEPROF_LIMIT=N (or limit=N) no more
than N calls are profiled in the process. "Outermost": the decision is made
when a thread enters a decorated function outside any other; the decorated
functions it calls are profiled with it if it was sampled, and not if it was
not. A coroutine function's call is decided on its own (its awaits
interleave with other tasks on the thread), and so is a generator
function's (the generator is profiled, or not, whenever it runs).

The decision costs one counter: the number of calls until the next sampled
one is drawn from the geometric distribution of P (what flipping a P-coin on
every call gives), so an unsampled call reads a thread-local and decrements
a counter. For a plain function both are done in C (the extension's
SampledFunction, with the thread's mode a C thread-local), so that an
unsampled call costs tens of ns; the draw, the limit and the per-call file
stay here (_first_call). LINEPROF_SAMPLE_SEED (for tests) seeds the draws.

With LINEPROF_PER_CALL=1 each profiled call is written to its own file,
<function>.<ms>ms.<epoch>.lprof, in LINEPROF_DIR or the current folder, and
the counts are cleared for the next call; a generator's call ends with the
generator. One profiled call at a time (PerCallWriter), so that a file holds
one call.
"""
import functools
import inspect
import math
import os
import random
import re
import sys
import threading
import time

from lineprof import _tracer

_FOREVER = 1 << 62         # the counter once the limit is reached
# The thread's mode, kept in C: outside decorated calls, in an unsampled one,
# in a sampled one.
_OUTSIDE, _UNSAMPLED, _SAMPLED = 0, 1, 2
_mode = _tracer.sampling_mode
_set_mode = _tracer.set_sampling_mode
_SampledFunction = getattr(_tracer, "SampledFunction", None)      # 3.9+
_samplers = {}              # (sample, limit) -> Sampler: the same keywords share one limit
_seed = None


def check_sample(value, name="sample"):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("%s=%r is not a number" % (name, value))
    if not 0 < number <= 1:
        raise ValueError("%s=%r is not a probability in (0, 1]" % (name, value))
    return number


def check_limit(value, name="limit"):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s=%r is not a whole number" % (name, value))
    if isinstance(value, float) or number < 1:
        raise ValueError("%s=%r is not a whole number of calls >= 1" % (name, value))
    return number


def from_environment():
    """(sample, limit, per_call) from LINEPROF_SAMPLE, LINEPROF_LIMIT and
    LINEPROF_PER_CALL (None, None, False when unset); ValueError names a bad one."""
    global _seed
    text = os.environ.get("LINEPROF_SAMPLE", "").strip()
    sample = check_sample(text, "LINEPROF_SAMPLE") if text else None
    text = os.environ.get("LINEPROF_LIMIT", "").strip()
    limit = check_limit(text, "LINEPROF_LIMIT") if text else None
    per_call = os.environ.get("LINEPROF_PER_CALL", "").strip().lower() not in (
        "", "0", "false", "no", "off")
    text = os.environ.get("LINEPROF_SAMPLE_SEED", "").strip()
    if text:
        try:
            _seed = int(text)
        except ValueError:
            raise ValueError("LINEPROF_SAMPLE_SEED=%r is not a whole number" % text)
    return sample, limit, per_call


class Sampler(_tracer.Countdown):
    """Decides which outermost calls are profiled: probability ``sample``,
    at most ``limit`` of them in this process; ``per_call`` (a PerCallWriter
    or None) writes each profiled one to its own file. ``left`` (the
    Countdown, in C) is the number of calls until the next drawn one."""

    def __init__(self, sample, limit, per_call=None):
        self.sample = 1.0 if sample is None else sample
        self.limit = limit
        self.per_call = per_call
        self.taken = 0
        self._lock = threading.Lock()
        self._reseed()

    def _reseed(self):
        self._random = random.Random(_seed)
        self._log = math.log1p(-self.sample) if self.sample < 1 else None
        self.left = _FOREVER if self.limit == 0 else self._draw()

    def _draw(self):
        """How many calls from now the next sampled one is (1: the next)."""
        if self._log is None:
            return 1
        return int(math.log(1.0 - self._random.random()) / self._log) + 1

    def take(self):
        """A call was drawn: whether it is profiled (False once the limit is reached)."""
        with self._lock:
            if self.limit is not None and self.taken >= self.limit:
                self.left = _FOREVER
                return False
            self.taken += 1
            self.left = _FOREVER if self.limit is not None and self.taken >= self.limit \
                else self._draw()
            return True

    def _after_fork(self):
        # The limit is per process, and a forked worker draws its own calls
        # (not the same sequence as its parent and siblings, unless seeded).
        self.taken = 0
        self._lock = threading.Lock()
        if self.per_call is not None:
            self.per_call.after_fork()
        self._reseed()
        if _seed is None:
            self._random.seed()


def sampler(sample, limit, per_call):
    key = (sample, limit)
    found = _samplers.get(key)
    if found is None:
        found = _samplers[key] = Sampler(sample, limit, per_call)
    return found


def _after_fork_in_child():
    # The thread's mode stays: the child goes on inside the same calls.
    for found in _samplers.values():
        found._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def wrap(func, profiled, chooser):
    """func's calls sampled by chooser: profiled(*args) for a profiled call,
    func(*args) otherwise. None when func is not a function (a class, a
    property...): the caller profiles every call of those."""
    if not isinstance(func, type(wrap)):
        return None
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            mode = _mode()
            if mode:
                if mode == _SAMPLED:
                    return await profiled(*args, **kwargs)
                return await func(*args, **kwargs)
            left = chooser.left - 1
            chooser.left = left
            if left > 0 or _take(chooser, func) is _NOT_PROFILED:
                return await func(*args, **kwargs)
            try:
                return await profiled(*args, **kwargs)
            finally:
                _done(chooser)
        return wrapper
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            mode = _mode()
            if mode:
                return (profiled if mode == _SAMPLED else func)(*args, **kwargs)
            left = chooser.left - 1
            chooser.left = left
            if left > 0 or _take(chooser, func) is _NOT_PROFILED:
                return func(*args, **kwargs)
            if chooser.per_call is None:
                return profiled(*args, **kwargs)
            return _written_when_done(profiled(*args, **kwargs), chooser)
        return wrapper
    if _SampledFunction is not None:
        return functools.update_wrapper(_SampledFunction(func, profiled, chooser, _first_call),
                                        func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):       # 3.8: SampledFunction's decision in Python
        mode = _mode()
        if mode:
            return (profiled if mode == _SAMPLED else func)(*args, **kwargs)
        left = chooser.left - 1
        chooser.left = left
        if left > 0:
            _set_mode(_UNSAMPLED)
            try:
                return func(*args, **kwargs)
            finally:
                _set_mode(_OUTSIDE)
        return _first_call(func, profiled, chooser, *args, **kwargs)
    return wrapper


# An outermost call the countdown reached is, per _take: not profiled, the
# start of a profiled call, or (per-call files) part of the profiled call in
# progress on its thread.
_NOT_PROFILED, _STARTS, _JOINS = "not profiled", "starts", "joins"


def _take(chooser, func):
    writer = chooser.per_call
    if writer is None:
        return _STARTS if chooser.take() else _NOT_PROFILED
    turn = writer.begin(func)
    if turn is _STARTS and not chooser.take():
        writer.cancel()
        return _NOT_PROFILED
    return turn


def _done(chooser):
    if chooser.per_call is not None:
        chooser.per_call.end()


def _written_when_done(generator, chooser):
    """A generator of a per-call profile: the call ends with the generator
    (exhausted, closed or collected)."""
    if inspect.isasyncgen(generator):
        async def steps():
            try:
                async for item in generator:
                    yield item
            finally:
                _done(chooser)
        return steps()

    def steps():
        try:
            return (yield from generator)
        finally:
            _done(chooser)
    return steps()


def _first_call(func, profiled, chooser, /, *args, **kwargs):
    """An outermost call the countdown reached (SampledFunction calls it)."""
    if _take(chooser, func) is _NOT_PROFILED:
        _set_mode(_UNSAMPLED)
        try:
            return func(*args, **kwargs)
        finally:
            _set_mode(_OUTSIDE)
    _set_mode(_SAMPLED)
    try:
        return profiled(*args, **kwargs)
    finally:
        _set_mode(_OUTSIDE)
        _done(chooser)


class PerCallWriter:
    """LINEPROF_PER_CALL=1: each profiled call's profile in
    FOLDER/<function>.<ms>ms.<epoch>.lprof, and the counts cleared.

    One profiled call at a time in the process, so that a file holds its call
    only: while one is in progress, an outermost call on another thread is
    not profiled (nor counted against the limit). On its own thread, an
    outermost call the countdown picks while it is in progress (the callees
    of a sampled coroutine, which are decided on their own, or another task's
    call while it awaits) joins it: asyncio's tasks share the thread, and the
    profiler cannot tell their lines apart."""

    def __init__(self, profiler, folder):
        self.profiler = profiler
        self.folder = folder or "."
        self._failed = False
        self._lock = threading.Lock()
        self._holder = None         # the thread of the call in progress
        self._depth = 0             # it and the calls that joined it, still running
        self._func = None           # its function and start, for the file's name
        self._start = 0.0

    def begin(self, func):
        """_STARTS, _JOINS or _NOT_PROFILED for an outermost call of func
        picked now."""
        me = threading.get_ident()
        with self._lock:
            if self._holder is None:
                self._holder, self._depth = me, 1
                self._func, self._start = func, time.perf_counter()
                return _STARTS
            if self._holder == me:
                self._depth += 1
                return _JOINS
            return _NOT_PROFILED

    def cancel(self):
        """begin() started a call that the limit then refused."""
        with self._lock:
            self._holder, self._depth = None, 0

    def end(self):
        """A profiled call or a call that joined it ended: the last to end
        writes the file, named after the call that started it."""
        with self._lock:
            self._depth -= 1
            if self._depth > 0:
                return
            self._holder = None
            self._write(self._func, time.perf_counter() - self._start)

    def after_fork(self):
        """In a forked child: only the forking thread is left."""
        self._lock = threading.Lock()
        if self._holder != threading.get_ident():
            self._holder, self._depth = None, 0

    def _write(self, func, seconds):
        try:
            stats = self.profiler.get_stats()
            self.profiler.clear()
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_",
                          getattr(func, "__qualname__", None) or getattr(func, "__name__", "call"))
            os.makedirs(self.folder, exist_ok=True)
            stem = os.path.join(self.folder, "%s.%dms.%.6f" % (name, round(seconds * 1000),
                                                               time.time()))
            path, number = stem + ".lprof", 1
            while os.path.exists(path):
                number += 1
                path = "%s-%d.lprof" % (stem, number)
            stats.to_file(path)
        except Exception as error:          # never raise into the program
            if not self._failed:
                self._failed = True
                sys.stderr.write("lineprof: could not write a call's profile: %s\n"
                                 % (getattr(error, "strerror", None) or error))
