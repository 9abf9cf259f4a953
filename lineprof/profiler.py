"""LineProfiler: the Python API over the C tracer, compatible with
line_profiler's where its users rely on it."""
import functools
import os
import sys
import time
import types

from lineprof import _tracer, calibration
from lineprof.stats import LineStats

# Imported where they are used, not here: every child process of a job
# imports this module at start-up, and inspect, dis, hashlib, linecache and
# json cost a child tens of milliseconds (benchmarks/child_startup.py).

# Times in LineStats are integer nanoseconds, as line_profiler 5 keeps them.
STATS_UNIT = 1e-9

_ProfiledFunction = getattr(_tracer, "ProfiledFunction", None)


def _code_of(func):
    """The code object behind a function-like object, or None."""
    if isinstance(func, types.CodeType):
        return func
    if isinstance(func, functools.partial):
        return _code_of(func.func)
    if isinstance(func, (staticmethod, classmethod, types.MethodType)):
        return _code_of(func.__func__)
    func = _unwrap(func) if callable(func) else func
    return getattr(func, "__code__", None)


def _unwrap(func):
    """What functools.wraps-made wrappers wrap, all the way down (as
    inspect.unwrap, which stops at a cycle)."""
    seen = {id(func)}
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
        if id(func) in seen:
            raise ValueError("wrapper loop when unwrapping %r" % (func,))
        seen.add(id(func))
    return func


_CO_GENERATOR, _CO_COROUTINE, _CO_ASYNC_GENERATOR = 0x20, 0x80, 0x200


def _has_code_flag(func, flag):
    """inspect's test of a function's kind (through methods and partials),
    without importing inspect."""
    while True:
        if isinstance(func, types.MethodType):
            func = func.__func__
        elif isinstance(func, functools.partial):
            func = func.func
        else:
            break
    return isinstance(func, types.FunctionType) and bool(func.__code__.co_flags & flag)


def _is_coroutine_function(func):
    if _has_code_flag(func, _CO_COROUTINE):
        return True
    # inspect.markcoroutinefunction (3.12+) marks other callables; only a
    # program that imported inspect can have used it.
    inspect = sys.modules.get("inspect")
    return inspect is not None and inspect.iscoroutinefunction(func)


def _function_name(code):
    return getattr(code, "co_qualname", code.co_name)


def _filename(code):
    """The code's file as reports and merges know it: an absolute path
    without '..', so that every process of a job names a file alike
    ('python ../x.py' names its script '/here/../x.py', and python 3.8
    'x.py', where multiprocessing's children say '/x.py'). Called when the
    code is registered, from the folder the program runs in. Names of no
    file found from there, such as '<string>', stay as they are."""
    filename = code.co_filename
    if os.path.isabs(filename):
        return os.path.normpath(filename)
    if filename.startswith("<") or not os.path.isfile(filename):
        return filename         # not a file, or not one found from here
    return os.path.normpath(os.path.abspath(filename))


def _line_range(code):
    if hasattr(code, "co_lines"):       # 3.10+: no need for dis
        lines = [line for _, _, line in code.co_lines() if line is not None]
    else:
        import dis
        lines = [line for _, line in dis.findlinestarts(code) if line is not None]
    lines.append(code.co_firstlineno)
    return min(lines), max(lines)


def _source_hash(code, line_range):
    """A hash of the function's source lines, from its first line to its last
    line of code (of its bytecode if the source is gone), so that merging
    refuses to sum runs of code that changed."""
    import hashlib
    first, last = line_range
    text = "".join(_source_lines(code.co_filename)[first - 1:last])
    data = text.encode("utf-8") if text else code.co_code
    return hashlib.sha256(data).hexdigest()[:16]


def _source_lines(filename):
    """The lines linecache.getlines(filename) gives. A plain UTF-8 file is
    read here: linecache imports tokenize and re, which would be most of
    what a job's child pays to decorate its first function."""
    linecache = sys.modules.get("linecache")
    if linecache is None or filename not in linecache.cache:
        try:
            with open(filename, "rb") as stream:
                data = stream.read()
        except (OSError, ValueError):
            data = None
        # A coding cookie or a BOM: decoding is tokenize's business.
        if data is not None and not data.startswith(b"\xef\xbb\xbf") and \
                b"coding" not in b"\n".join(data.split(b"\n", 2)[:2]):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                import io
                lines = io.StringIO(text, newline=None).readlines()
                if lines and not lines[-1].endswith("\n"):
                    lines[-1] += "\n"
                return lines
    import linecache
    return linecache.getlines(filename)


class LineProfiler:
    """Times every line of the functions given to it.

    ``compensation`` subtracts the calibrated cost of each line event (the
    interpreter calling the tracer, and the tracer's work) from line times
    (see lineprof.calibration).
    """

    def __init__(self, *functions, compensation=True):
        self._tracer = _tracer.Tracer()
        self._codes = []            # in the order added, for the report
        # By identity: equal code objects of two files are two functions.
        self._code_ids = set()
        self._hashes = {}           # id(code) -> hash of its source
        self._filenames = {}        # id(code) -> its file, as reports name it
        self.functions = []
        self.compensation = compensation
        self.start_time = time.time()
        for func in functions:
            self.add_function(func)

    # ---- registration ----------------------------------------------------

    def add_function(self, func):
        """Profiles func (a function, method, partial, code object...).
        Returns 1 if it was added, 0 if it was there already."""
        code = _code_of(func)
        if code is None:
            raise TypeError("lineprof: cannot profile %r: it has no Python code" % (func,))
        if id(code) in self._code_ids:
            return 0
        line_range = _line_range(code)
        # Hashed now, while the source on disk is the one that runs.
        self._hashes[id(code)] = _source_hash(code, line_range)
        self._filenames[id(code)] = _filename(code)
        self._tracer.add_code(code, *line_range)
        self._code_ids.add(id(code))
        # Last: get_stats() may run at any moment (a job's child writes its
        # profile from a SIGTERM handler) and reads what _codes lists.
        self._codes.append(code)
        if not isinstance(func, types.CodeType):
            self.functions.append(func)
        return 1

    def add_class(self, cls):
        """Profiles the methods defined in cls (plain, class and static methods,
        property accessors, nested classes). Returns how many were added."""
        added = 0
        for member in vars(cls).values():
            if isinstance(member, property):
                for accessor in (member.fget, member.fset, member.fdel):
                    if accessor is not None and _code_of(accessor) is not None:
                        added += self.add_function(accessor)
            elif isinstance(member, type) and member.__qualname__.startswith(cls.__qualname__ + "."):
                added += self.add_class(member)
            elif isinstance(member, (staticmethod, classmethod, types.FunctionType)):
                if _code_of(member) is not None:
                    added += self.add_function(member)
        return added

    def add_module(self, module):
        """Profiles the functions and classes defined in module. Returns how many
        functions were added."""
        added = 0
        for member in vars(module).values():
            if getattr(member, "__module__", None) != module.__name__:
                continue
            if isinstance(member, type):
                added += self.add_class(member)
            elif isinstance(member, types.FunctionType):
                added += self.add_function(member)
        return added

    # ---- decorating --------------------------------------------------------

    def __call__(self, func):
        """Decorates func so that its calls are profiled; a class gets its
        methods profiled and is returned as it is."""
        if isinstance(func, type):
            self.add_class(func)
            return func
        if isinstance(func, property):
            return property(*(self(accessor) if accessor else None
                              for accessor in (func.fget, func.fset, func.fdel)),
                            doc=func.__doc__)
        if isinstance(func, (staticmethod, classmethod)):
            return type(func)(self(func.__func__))
        self.add_function(func)
        return self.wrap_callable(func)

    def wrap_callable(self, func):
        """A wrapper that profiles func's calls; the same kind of callable as func."""
        if _has_code_flag(func, _CO_ASYNC_GENERATOR):
            return self._wrap_async_generator(func)
        if _is_coroutine_function(func):
            return self._wrap_coroutine(func)
        if _has_code_flag(func, _CO_GENERATOR):
            return self._wrap_generator(func)
        return self._wrap_function(func)

    def _wrap_function(self, func):
        enable, disable = self._switches()
        if _ProfiledFunction is not None:
            # A C wrapper (3.9+): no Python frame, no trace events of its own.
            return functools.update_wrapper(_ProfiledFunction(func, enable, disable), func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            enable()
            try:
                return func(*args, **kwargs)
            finally:
                disable()
        return wrapper

    def _wrap_coroutine(self, func):
        enable, disable = self._switches()

        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            enable()
            try:
                return await func(*args, **kwargs)
            finally:
                disable()
        return wrapper

    def _wrap_generator(self, func):
        # Profiling is on only while the generator runs (each next, send,
        # throw and close), not while it waits for its consumer; the stepping
        # is done in C (ProfiledGenerator), the wrapper only delegates to it.
        enable, disable = self._switches()

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return (yield from _tracer.ProfiledGenerator(func(*args, **kwargs), enable, disable))
        return wrapper

    def _wrap_async_generator(self, func):
        enable, disable = self._switches()

        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            generator = func(*args, **kwargs)
            sent, thrown = None, None
            while True:
                enable()
                try:
                    if thrown is None:
                        item = await generator.asend(sent)
                    else:
                        item = await generator.athrow(thrown)
                except StopAsyncIteration:
                    return
                finally:
                    disable()
                sent, thrown = None, None
                try:
                    sent = yield item
                except GeneratorExit:
                    enable()
                    try:
                        await generator.aclose()
                    finally:
                        disable()
                    raise
                except BaseException as error:
                    thrown = error
        return wrapper

    # ---- switching on and off ----------------------------------------------

    def enable_by_count(self):
        """Starts profiling unless it was on already (calls nest). If the
        tracer cannot start (every sys.monitoring tool id taken), says so
        once on stderr and leaves profiling off, rather than raise into the
        program that a decorator wraps."""
        self._tracer.enable_by_count()

    def disable_by_count(self):
        """Undoes one enable_by_count()."""
        self._tracer.disable_by_count()

    def _switches(self):
        # The wrappers call the tracer's C methods directly: a profiled call
        # then costs no Python-level method call to switch profiling.
        return self._tracer.enable_by_count, self._tracer.disable_by_count

    def enable(self):
        """Profiles the registered functions on every thread until disable()."""
        self._tracer.enable()

    def disable(self):
        self._tracer.disable()

    def __enter__(self):
        self.enable_by_count()
        return self

    def __exit__(self, *exc_info):
        self.disable_by_count()

    def runcall(self, func, *args, **kwargs):
        """Calls func with profiling on and returns what it returns."""
        self.enable_by_count()
        try:
            return func(*args, **kwargs)
        finally:
            self.disable_by_count()

    def runctx(self, cmd, globals, locals):
        """Executes cmd (source or code) with profiling on."""
        self.enable_by_count()
        try:
            exec(cmd, globals, locals)
        finally:
            self.disable_by_count()
        return self

    def run(self, cmd):
        """Executes cmd in __main__'s namespace with profiling on."""
        import __main__
        namespace = __main__.__dict__
        return self.runctx(cmd, namespace, namespace)

    # ---- results -----------------------------------------------------------

    def get_stats(self):
        """A LineStats of every registered function (also those never called);
        times in integer nanoseconds (unit 1e-9)."""
        event_cost = calibration.event_cost() if self.compensation else 0.0
        self._tracer.event_cost = event_cost
        timer_unit = calibration.timer_unit()
        ticks_to_units = timer_unit / STATS_UNIT
        # By identity: distinct code objects may compare equal.
        by_code = {id(code): rows for code, rows in self._tracer.get_timings()}
        calls_by_code = {id(code): calls for code, calls in self._tracer.get_calls()}
        timings, code_hashes, calls, keys = {}, {}, {}, {}
        for code in self._codes:
            key = keys[id(code)] = (self._filenames[id(code)], code.co_firstlineno,
                                    _function_name(code))
            merged = {lineno: [hits, time] for lineno, hits, time in timings.get(key, ())}
            for lineno, hits, ticks in by_code.get(id(code), ()):
                counts = merged.setdefault(lineno, [0, 0])
                counts[0] += hits
                counts[1] += int(round(ticks * ticks_to_units))
            timings[key] = [(lineno, hits, time) for lineno, (hits, time) in sorted(merged.items())]
            code_hashes.setdefault(key, self._hashes[id(code)])
            calls[key] = calls.get(key, 0) + calls_by_code.get(id(code), 0)
        edges = {}
        for caller, lineno, callee, edge_calls, ticks in self._tracer.get_edges():
            if id(caller) not in keys or id(callee) not in keys:
                continue        # registered after the loop above (another thread)
            edge = (keys[id(caller)], lineno, keys[id(callee)])
            old_calls, old_time = edges.get(edge, (0, 0))
            edges[edge] = (old_calls + edge_calls, old_time + int(round(ticks * ticks_to_units)))
        metadata = {
            "python": sys.version.split()[0],
            "argv": [str(arg) for arg in sys.argv],
            "start_time": self.start_time,
            "timer": _tracer.TIMER,
            "backend": _tracer.BACKEND,
            "compensation_ns_per_event": event_cost * timer_unit * 1e9,
        }
        return LineStats(timings, STATS_UNIT, code_hashes, metadata, calls, edges)

    def clear(self):
        """Forgets every hit and time measured so far; the functions stay
        registered (a forked child starts from here)."""
        self._tracer.clear()
        self.start_time = time.time()

    def print_stats(self, stream=None, output_unit=None, stripzeros=False, details=True,
                    summarize=False, sort=False):
        self.get_stats().print(stream=stream, output_unit=output_unit, stripzeros=stripzeros,
                               details=details, summarize=summarize, sort=sort)

    def dump_stats(self, filename):
        """Writes the profile to filename (.lprof), atomically."""
        self.get_stats().to_file(filename)
