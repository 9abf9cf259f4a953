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
a counter. LINEPROF_SAMPLE_SEED (for tests) seeds the draws.

With LINEPROF_PER_CALL=1 each profiled call is written to its own file,
<function>.<ms>ms.<epoch>.lprof, in LINEPROF_DIR or the current folder, and
the counts are cleared for the next call.
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

_FOREVER = 1 << 62         # the counter once the limit is reached


class _State(threading.local):
    mode = 0                # 0: outside decorated calls, 1: in an unsampled one, 2: in a sampled one


_state = _State()
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


class Sampler:
    """Decides which outermost calls are profiled: probability ``sample``,
    at most ``limit`` of them in this process; ``after(func, seconds)`` runs
    after each profiled one (the per-call files)."""

    def __init__(self, sample, limit, after=None):
        self.sample = 1.0 if sample is None else sample
        self.limit = limit
        self.after = after
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
        self._reseed()
        if _seed is None:
            self._random.seed()


def sampler(sample, limit, after):
    key = (sample, limit)
    found = _samplers.get(key)
    if found is None:
        found = _samplers[key] = Sampler(sample, limit, after)
    return found


def _after_fork_in_child():
    _state.mode = 0
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
    state = _state
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            mode = state.mode
            if mode:
                if mode == 2:
                    return await profiled(*args, **kwargs)
                return await func(*args, **kwargs)
            left = chooser.left - 1
            chooser.left = left
            if left > 0 or not chooser.take():
                return await func(*args, **kwargs)
            start = time.perf_counter()
            try:
                return await profiled(*args, **kwargs)
            finally:
                if chooser.after is not None:
                    chooser.after(func, time.perf_counter() - start)
        return wrapper
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            mode = state.mode
            if mode:
                return (profiled if mode == 2 else func)(*args, **kwargs)
            left = chooser.left - 1
            chooser.left = left
            if left > 0 or not chooser.take():
                return func(*args, **kwargs)
            return profiled(*args, **kwargs)
        return wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        mode = state.mode
        if mode:
            if mode == 2:
                return profiled(*args, **kwargs)
            return func(*args, **kwargs)
        left = chooser.left - 1
        chooser.left = left
        if left > 0:
            state.mode = 1
            try:
                return func(*args, **kwargs)
            finally:
                state.mode = 0
        return _first_call(func, profiled, chooser, args, kwargs)
    return wrapper


def _first_call(func, profiled, chooser, args, kwargs):
    """An outermost call the counter picked."""
    state = _state
    if not chooser.take():
        state.mode = 1
        try:
            return func(*args, **kwargs)
        finally:
            state.mode = 0
    state.mode = 2
    start = time.perf_counter()
    try:
        return profiled(*args, **kwargs)
    finally:
        state.mode = 0
        if chooser.after is not None:
            chooser.after(func, time.perf_counter() - start)


class PerCallWriter:
    """LINEPROF_PER_CALL=1: after each profiled call, its profile in
    FOLDER/<function>.<ms>ms.<epoch>.lprof, and the counts cleared."""

    def __init__(self, profiler, folder):
        self.profiler = profiler
        self.folder = folder or "."
        self._failed = False

    def __call__(self, func, seconds):
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
