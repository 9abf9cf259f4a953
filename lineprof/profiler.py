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


# Callables written in C: nothing to profile, and decorating returns them as
# they are (line_profiler's rule).
_C_CALLABLES = (types.BuiltinFunctionType, types.BuiltinMethodType,
                types.ClassMethodDescriptorType, types.MethodDescriptorType,
                types.MethodWrapperType, types.WrapperDescriptorType)

# What the decorator writes on each wrapper it makes: (the profiler's
# enable switch, id of the wrapper). The id tells the wrapper itself from a
# functools.wraps wrapper around it, which copies the attribute.
_MARK = "__lineprof_wrapper__"


def _functions_in(obj, seen=None, stop_at_classes=False):
    """The functions behind obj, as line_profiler 5 finds them: through
    methods, classmethod, staticmethod, partial, partialmethod,
    cached_property and property to the functions; a class gives those of
    its members defined in it (and its nested classes), or itself with
    stop_at_classes; a callable instance its class's __call__; C callables
    nothing. Wrappers (functools.wraps, lineprof's) come back as they are.
    TypeError if obj is neither callable nor one of those."""
    if seen is None:
        seen = set()
    if isinstance(obj, (types.MethodType, classmethod, staticmethod)):
        return _functions_in(obj.__func__, seen, stop_at_classes)
    if isinstance(obj, (functools.partial, functools.partialmethod, functools.cached_property)):
        return _functions_in(obj.func, seen, stop_at_classes)
    if isinstance(obj, property):
        found = []
        for accessor in (obj.fget, obj.fset, obj.fdel):
            if accessor is not None:
                found.extend(_functions_in(accessor, seen, stop_at_classes))
        return found
    if isinstance(obj, type):
        if stop_at_classes:
            return [obj]
        found = []
        for member in vars(obj).values():
            try:
                inner = _functions_in(member, seen, stop_at_classes=True)
            except TypeError:
                continue
            for item in inner:
                if isinstance(item, type):
                    if _in_scope("children", obj, "class", item):
                        found.extend(_functions_in(item, seen))
                elif _in_scope("children", obj, "func", _innermost(item)):
                    found.append(item)
        return found
    if isinstance(obj, types.CodeType):
        return [obj]
    if not callable(obj):
        raise TypeError("lineprof: cannot profile %r: it is not callable" % (obj,))
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, _C_CALLABLES):
        return []
    if isinstance(obj, types.FunctionType) or hasattr(obj, "__wrapped__") or \
            isinstance(getattr(obj, "__code__", None), types.CodeType):
        return [obj]
    call = getattr(type(obj), "__call__", None)
    return [call] if isinstance(call, types.FunctionType) else []


def _innermost(func):
    """What a wrapper made with functools.wraps (or by lineprof) wraps; func
    itself otherwise."""
    if isinstance(func, types.CodeType) or not hasattr(func, "__wrapped__"):
        return func
    return _unwrap(func)


def _function_of(func, code):
    """The function whose code is code, behind func (a method, partial,
    wrapper...), for LineProfiler.functions; func if none is found."""
    seen = set()
    while id(func) not in seen:
        seen.add(id(func))
        if getattr(func, "__code__", None) is code:
            return func
        if isinstance(func, (types.MethodType, staticmethod, classmethod)):
            func = func.__func__
        elif isinstance(func, (functools.partial, functools.partialmethod,
                               functools.cached_property)):
            func = func.func
        elif hasattr(func, "__wrapped__"):
            func = func.__wrapped__
        else:
            break
    return func


def _copy_attr(old, new, name):
    try:
        setattr(new, name, getattr(old, name))
    except (AttributeError, TypeError):
        pass
    return new


def _copy_dict(old, new):
    """Carries what was set on a wrapper object (its __dict__) over to its copy."""
    try:
        old_vars, new_vars = vars(old), vars(new)
    except TypeError:
        return new
    for key, value in old_vars.items():
        new_vars.setdefault(key, value)
    return new


def _wrap_class(profiler, cls):
    """Decorating a class, as line_profiler 5 does: each member whose
    functions are defined in the class itself (methods, class and static
    methods, properties...; nested classes in turn) is replaced by its
    profiled version; what was only assigned into the class from outside is
    left alone. Returns cls."""
    to_wrap = {}
    for name, member in vars(cls).items():
        try:
            inner = _functions_in(member, stop_at_classes=True)
        except TypeError:
            continue
        if any(_in_scope("children", cls, "class", item) if isinstance(item, type)
               else _in_scope("children", cls, "func", _innermost(item)) for item in inner):
            to_wrap[name] = member
    _replace_members(profiler, cls, to_wrap, stacklevel=4)
    return cls


def _replace_members(profiler, namespace, members, stacklevel=4):
    """Replaces each members[name] in namespace (a class or module) with its
    profiled version; warns (UserWarning) of those that cannot be replaced."""
    failed = {}
    for name, member in members.items():
        wrapper = LineProfiler.wrap_callable(profiler, member)
        if wrapper is member:
            continue
        try:
            setattr(namespace, name, wrapper)
        except (AttributeError, TypeError):
            failed[name] = member
    if failed:
        import warnings
        warnings.warn("lineprof: cannot wrap %d attribute(s) of %r: %r"
                      % (len(failed), namespace, failed), stacklevel=stacklevel)


def _environ_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "on", "true", "yes")


# ---- line_profiler 5's scoping policies (add_class, add_module) ---------------

_POLICIES = ("exact", "children", "descendants", "siblings", "none")
_DEFAULT_POLICIES = {"func": "siblings", "class": "siblings", "module": "exact"}


def _policies(scoping_policy):
    """{'func': ..., 'class': ..., 'module': ...} from a policy name (or
    line_profiler's ScopingPolicy, a str), such a mapping, or None."""
    if scoping_policy is None:
        scoping_policy = _DEFAULT_POLICIES
    if isinstance(scoping_policy, str):
        scoping_policy = dict.fromkeys(("func", "class", "module"), scoping_policy)
    policies = {}
    for kind in ("func", "class", "module"):
        name = str(getattr(scoping_policy[kind], "value", scoping_policy[kind])).lower()
        if name not in _POLICIES:
            raise ValueError("lineprof: scoping policy %r is none of %s"
                             % (scoping_policy[kind], ", ".join(_POLICIES)))
        policies[kind] = name
    return policies


def _prefixed(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def _in_scope(policy, namespace, kind, obj):
    """Whether obj (kind 'func', 'class' or 'module'), found in namespace (a
    class or a module), is added under policy."""
    if policy == "none":
        return True
    if kind == "module":
        if isinstance(namespace, type) or policy == "exact":
            return False
        name, parent = obj.__name__, namespace.__name__.rpartition(".")[0]
        if policy == "children":
            return name.rpartition(".")[0] == namespace.__name__
        if policy == "descendants":
            return name.startswith(namespace.__name__ + ".")
        return bool(parent) and name.startswith(parent + ".")       # siblings
    if policy == "exact" and kind == "class":
        return False
    module = getattr(obj, "__module__", None)
    if isinstance(namespace, type):
        if module != namespace.__module__:
            return False
        qualname = getattr(obj, "__qualname__", "")
        if policy in ("exact", "children"):
            return qualname == "%s.%s" % (namespace.__qualname__, getattr(obj, "__name__", ""))
        if policy == "descendants":
            return qualname.startswith(namespace.__qualname__ + ".")
        return True                                                   # siblings
    if not isinstance(module, str):
        return False
    if policy in ("exact", "children"):
        return module == namespace.__name__
    parent = namespace.__name__.rpartition(".")[0]
    if policy == "siblings" and parent:
        return _prefixed(module, parent)
    return _prefixed(module, namespace.__name__)


class LineProfiler:
    """Times every line of the functions given to it.

    ``compensation`` subtracts the calibrated cost of each line event (the
    interpreter calling the tracer, and the tracer's work) from line times
    (see lineprof.calibration).
    """

    def __init__(self, *functions, compensation=True, wrap_trace=None,
                 set_frame_local_trace=None, memory=False):
        self._tracer = _tracer.Tracer()
        self._codes = []            # in the order added, for the report
        # By identity: equal code objects of two files are two functions.
        self._code_ids = set()
        self._hashes = {}           # id(code) -> hash of its source
        self._filenames = {}        # id(code) -> its file, as reports name it
        self.functions = []
        self.compensation = compensation
        # line_profiler 5's switches for programs that call sys.settrace
        # themselves, see README ("Other tracers"). wrap_trace (3.8-3.11):
        # another trace function found on a thread gets every event too,
        # instead of being paused; once a profiler asks, for the process.
        self.wrap_trace = _environ_flag("LINE_PROFILER_WRAP_TRACE") \
            if wrap_trace is None else bool(wrap_trace)
        if self.wrap_trace and hasattr(_tracer, "wrap_trace"):
            _tracer.wrap_trace(True)
        self.set_frame_local_trace = _environ_flag("LINE_PROFILER_SET_FRAME_LOCAL_TRACE") \
            if set_frame_local_trace is None else bool(set_frame_local_trace)
        self.start_time = time.time()
        self.memory = memory
        for func in functions:
            self.add_function(func)

    @property
    def memory(self):
        """Whether each line's allocated and freed bytes are counted too
        (allocator hooks while this is on: memory.c)."""
        return self._tracer.memory

    @memory.setter
    def memory(self, on):
        self._tracer.memory = bool(on)

    @property
    def set_frame_local_trace(self):
        """Always false where lineprof uses sys.monitoring (3.12+), as in
        line_profiler: frames have no local trace function to set there."""
        return self._set_frame_local_trace

    @set_frame_local_trace.setter
    def set_frame_local_trace(self, value):
        self._set_frame_local_trace = bool(value) and _tracer.BACKEND == "settrace"

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
            self.functions.append(_function_of(func, code))
        return 1

    def add_callable(self, func, guard=None, name=None):
        """Profiles the functions behind func, as line_profiler 5's
        add_callable: a function, a bound, class or static method, a
        property, cached_property, partial or partialmethod, a class (the
        methods defined in it), a callable instance (its __call__). What
        this profiler's decorator made is skipped, as are C callables and
        the functions for which guard(function) is true. Returns 1 if func
        had a function to profile, 0 otherwise. (name: line_profiler uses
        it in its debug log; lineprof keeps no log.)"""
        found = 0
        for impl in _functions_in(func):
            if self._is_own_wrapper(impl):
                continue
            target = _innermost(impl)
            if guard is not None and guard(target):
                continue
            if _code_of(target) is None:
                continue
            self.add_function(target)
            found = 1
        return found

    def add_class(self, cls, *, scoping_policy=None, wrap=False):
        """Profiles the methods, classmethods, staticmethods, properties...
        found in cls, and its nested classes, as line_profiler 5's add_class:
        scoping_policy ('exact', 'children', 'descendants', 'siblings',
        'none', or a mapping of 'func', 'class' and 'module' to those; by
        default siblings for functions and classes, exact for modules)
        decides which. wrap=True also replaces them in cls with wrappers that
        switch profiling on while they run. Returns how many functions were
        added (line_profiler: how many members)."""
        return self._add_namespace(cls, _policies(scoping_policy), wrap, set())

    def add_module(self, module, *, scoping_policy=None, wrap=False):
        """Profiles the functions and classes found in module, as
        line_profiler 5's add_module (scoping_policy and wrap as for
        add_class; by default the functions and classes of the module and of
        the modules of its package, no submodules). Returns how many
        functions were added."""
        return self._add_namespace(module, _policies(scoping_policy), wrap, set())

    def _add_namespace(self, namespace, policies, wrap, seen):
        added, to_wrap = 0, {}

        def out_of_scope(function):
            return not _in_scope(policies["func"], namespace, "func", function)

        for attr, value in list(vars(namespace).items()):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, type):
                if _in_scope(policies["class"], namespace, "class", value):
                    added += self._add_namespace(value, policies, wrap, seen)
            elif isinstance(value, types.ModuleType):
                if _in_scope(policies["module"], namespace, "module", value):
                    added += self._add_namespace(value, policies, wrap, seen)
            else:
                before = len(self._codes)
                try:
                    found = self.add_callable(value, guard=out_of_scope)
                except TypeError:
                    continue        # not callable
                added += len(self._codes) - before
                if found and wrap:
                    to_wrap[attr] = value
        if to_wrap:
            _replace_members(self, namespace, to_wrap)
        return added

    def _is_own_wrapper(self, func):
        mark = getattr(func, _MARK, None)
        return mark is not None and mark[1] == id(func) and mark[0] == self._switches()[0]

    # ---- decorating --------------------------------------------------------

    def __call__(self, func):
        """Decorates func so that its calls are profiled, as line_profiler
        5 does: the result is the same kind of object (a bound method stays
        one, a partial a partial, a property a property...); a class gets the
        methods defined in it replaced by profiled ones and is returned
        itself; a C function, or what this profiler decorated already, is
        returned as it is."""
        if self._is_own_wrapper(func):
            return func
        self.add_callable(func)
        return self.wrap_callable(func)

    def wrap_callable(self, func):
        """A wrapper that profiles func's calls; the same kind of callable as func.
        (Also kernprof's ContextualProfile.__call__: self may be one.)"""
        wrap = functools.partial(LineProfiler.wrap_callable, self)
        if isinstance(func, (classmethod, staticmethod)):
            return _copy_dict(func, type(func)(wrap(func.__func__)))
        if isinstance(func, types.MethodType):
            return types.MethodType(wrap(func.__func__), func.__self__)
        if isinstance(func, (functools.partial, functools.partialmethod)):
            return _copy_dict(func, type(func)(wrap(func.func), *func.args, **func.keywords))
        if isinstance(func, property):
            new = type(func)(*(None if accessor is None else wrap(accessor)
                               for accessor in (func.fget, func.fset, func.fdel)),
                             doc=func.__doc__)
            return _copy_dict(func, _copy_attr(func, new, "__name__"))
        if isinstance(func, functools.cached_property):
            new = _copy_attr(func, type(func)(wrap(func.func)), "attrname")
            return _copy_dict(func, new)
        if isinstance(func, type):
            return _wrap_class(self, func)
        if isinstance(func, _C_CALLABLES):
            return func
        if not callable(func):
            raise TypeError("lineprof: cannot decorate %r: it is not callable" % (func,))
        mark = getattr(func, _MARK, None)
        if mark is not None and mark[1] == id(func) and mark[0] == self._switches()[0]:
            return func         # made by this profiler already
        if _has_code_flag(func, _CO_ASYNC_GENERATOR):
            wrapper = self._wrap_async_generator(func)
        elif _is_coroutine_function(func):
            wrapper = self._wrap_coroutine(func)
        elif _has_code_flag(func, _CO_GENERATOR):
            wrapper = self._wrap_generator(func)
        else:
            wrapper = self._wrap_function(func)
        try:
            setattr(wrapper, _MARK, (self._switches()[0], id(wrapper)))
        except (AttributeError, TypeError):
            pass
        return wrapper

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
        frame_event_cost = calibration.frame_event_cost() if self.compensation else 0.0
        self._tracer.event_cost = event_cost
        self._tracer.frame_event_cost = frame_event_cost
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
        memory = {}     # counted while memory was on (it may be off by now)
        for code, rows in self._tracer.get_memory():
            if id(code) not in keys:
                continue
            lines = memory.setdefault(keys[id(code)], {})
            for lineno, allocated, freed, peak in rows:
                old = lines.get(lineno, (0, 0, 0))
                lines[lineno] = (old[0] + allocated, old[1] + freed, max(old[2], peak))
        if self.memory:
            for key in timings:
                memory.setdefault(key, {})
        metadata = {
            "python": sys.version.split()[0],
            "argv": [str(arg) for arg in sys.argv],
            "start_time": self.start_time,
            "timer": _tracer.TIMER,
            "backend": _tracer.BACKEND,
            "compensation_ns_per_event": event_cost * timer_unit * 1e9,
            "compensation_ns_per_frame_event": frame_event_cost * timer_unit * 1e9,
        }
        return LineStats(timings, STATS_UNIT, code_hashes, metadata, calls, edges, memory)

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
