"""Per-request profiles for web applications: a WSGI and an ASGI middleware.

    from lineprof.middleware import WSGIMiddleware, ASGIMiddleware
    app = WSGIMiddleware(app, "profiles", functions=[views.index], sample=0.01, limit=100)
    app = ASGIMiddleware(app, "profiles", targets=["myapp.views"])

For each sampled request, the given functions (``functions=``: anything
LineProfiler.add_callable takes), modules (``modules=``: module objects or
names, added as LineProfiler.add_module adds them) and ``-p``-style targets
(``targets=``: module names, dotted names, files or folders, as
``kernprof -p`` takes them) are profiled during that request only, and one
``.lprof`` is written per request into ``folder``:
``METHOD.path.<ms>ms.<epoch>.lprof`` (the path with ``/`` turned into ``.``,
``root`` for ``/``; ``<ms>`` the request's wall time in milliseconds,
``<epoch>`` the time it ended in whole seconds), as Werkzeug's
ProfilerMiddleware names its files. The files are written atomically and
``python -m lineprof merge FOLDER`` sums them. Nothing here depends on a web
framework.

Which requests: ``filter(environ)`` (WSGI) or ``filter(scope)`` (ASGI, http
requests only) must be true, if given; then a request is profiled with
probability ``sample`` (0 to 1, default 1), until ``limit`` requests have
been profiled in this process (None: no limit).

Concurrent requests: the tracer's recording switch is process-wide on
Python 3.12+ (sys.monitoring): a profiled function counts its lines on every
thread while it is on. On 3.8-3.11 (sys.settrace) it is per thread, but an
ASGI application's requests share the event loop's thread. So:

1. At most one request is profiled at a time in the process (across every
   middleware of this module). The choice is made without waiting: a request
   that starts while another is profiled runs unprofiled, and does not count
   against ``limit``.
2. Every request that passes through a middleware of this module is counted
   while it runs (for WSGI, until the server closes its response; for ASGI,
   until the application returns; ASGI lifespan events are not requests).
   If another request that can mix lines with the profiled one ran at any
   moment during it, the profile is marked: its file is named
   ``METHOD.path.<ms>ms.<epoch>.overlap.lprof``, as its counts may hold lines
   that the other request ran (a function profiled for this request, called
   by the other one meanwhile). With ``overlap="skip"`` such a profile is
   not written at all, and does not count against ``limit``: every file
   written then holds the lines of its own request only.
   "Can mix": on 3.12+, any other request; on 3.8-3.11, another request on
   the same thread (ASGI tasks on one event loop), as other threads are not
   traced there.

A file without ``.overlap`` therefore holds exactly the lines its request ran
(on 3.8-3.11, on the thread that handled it: code that the request hands to
another thread is not profiled there). What this middleware cannot see is
work not started by a request through it: background threads or asyncio
tasks that call the profiled functions while a request is profiled are
counted in that request's profile. For ASGI, the profile is on from the
moment the application is called until it returns, across its awaits
(including receive and send): time waiting in an await goes to the awaiting
line, as lineprof times coroutines.
"""
import os
import random
import sys
import threading
import time

__all__ = ["WSGIMiddleware", "ASGIMiddleware"]

# Process-wide state, shared by every middleware: one profiled request at a
# time, and the requests in flight (for overlap).
_profiling = threading.Lock()
_state_lock = threading.Lock()
_in_flight = {}             # thread ident -> requests running on it
_current = []               # the _ProfiledRequest running, if any (0 or 1 item)


def _per_thread_tracing():
    """Whether only the thread that switches profiling on is traced
    (sys.settrace, 3.8-3.11), rather than every thread (sys.monitoring)."""
    from lineprof import _tracer
    return _tracer.BACKEND == "settrace"


class _Request:
    """A request in flight: counted from begin() to end()."""

    __slots__ = ("thread",)

    def begin(self):
        self.thread = threading.get_ident()
        with _state_lock:
            _in_flight[self.thread] = _in_flight.get(self.thread, 0) + 1
            for profiled in _current:
                if profiled.mixes_with(self.thread):
                    profiled.overlap = True

    def end(self):
        with _state_lock:
            left = _in_flight[self.thread] - 1
            if left:
                _in_flight[self.thread] = left
            else:
                del _in_flight[self.thread]


class _ProfiledRequest:
    def __init__(self, request, per_thread):
        self.request = request
        self.per_thread = per_thread
        self.overlap = False
        self.start = time.perf_counter()

    def mixes_with(self, thread):
        return not self.per_thread or thread == self.request.thread

    def register(self):
        """Called once the request is counted in flight (its own count is
        not an overlap)."""
        with _state_lock:
            me = self.request.thread
            self.overlap = any(count > (1 if thread == me else 0) and self.mixes_with(thread)
                               for thread, count in _in_flight.items())
            _current.append(self)

    def unregister(self):
        with _state_lock:
            _current.remove(self)


def _path_part(path):
    """'/a/b/' -> 'a.b', '/' -> 'root', as Werkzeug's ProfilerMiddleware;
    separators and odd characters of the host's file system are replaced too."""
    text = path.strip("/").replace("/", ".")
    text = "".join("_" if ch in '\\:*?"<>|\0' or ord(ch) < 32 else ch for ch in text)
    return text[:120] or "root"


class _Middleware:
    def __init__(self, app, folder, functions=(), modules=(), targets=(), sample=1.0,
                 limit=None, filter=None, overlap="mark"):
        from lineprof.profiler import LineProfiler
        if not 0.0 <= sample <= 1.0:
            raise ValueError("lineprof.middleware: sample=%r is not between 0 and 1" % (sample,))
        if limit is not None and limit < 0:
            raise ValueError("lineprof.middleware: limit=%r is negative" % (limit,))
        if overlap not in ("mark", "skip"):
            raise ValueError("lineprof.middleware: overlap=%r is neither 'mark' nor 'skip'"
                             % (overlap,))
        self.app = app
        self.folder = os.fspath(folder)
        self.sample = sample
        self.limit = limit
        self.filter = filter
        self.overlap = overlap
        self.profiled = 0           # requests whose profile was written
        self.profiler = LineProfiler()
        for func in functions:
            self.profiler.add_callable(func)
        for module in modules:
            if isinstance(module, str):
                import importlib
                module = importlib.import_module(module)
            self.profiler.add_module(module)
        self._autoprofiler = None
        if targets:
            from lineprof.autoprofile import AutoProfiler, Target
            self._autoprofiler = AutoProfiler(self.profiler, [Target(text) for text in targets])
            self._autoprofiler.start()
        self._random = random.Random()
        self._per_thread = _per_thread_tracing()
        os.makedirs(self.folder, exist_ok=True)

    def _wanted(self, environ_or_scope):
        if self.filter is not None and not self.filter(environ_or_scope):
            return False
        if self.limit is not None and self.profiled >= self.limit:
            return False
        return self.sample >= 1.0 or self._random.random() < self.sample

    def _try_start(self, request):
        """A _ProfiledRequest if this request is to be profiled (the
        process-wide lock taken), None otherwise."""
        if not _profiling.acquire(blocking=False):
            return None
        if self.limit is not None and self.profiled >= self.limit:
            _profiling.release()
            return None
        profiled = _ProfiledRequest(request, self._per_thread)
        profiled.register()
        self.profiler.clear()
        return profiled

    def _finish(self, profiled, method, path):
        """Writes the request's profile (the lock is released however it goes)."""
        try:
            elapsed_ms = (time.perf_counter() - profiled.start) * 1000.0
            profiled.unregister()
            if profiled.overlap and self.overlap == "skip":
                return
            stats = self.profiler.get_stats()
            name = "%s.%s.%.0fms.%d%s.lprof" % (
                _path_part(method) if method else "UNKNOWN", _path_part(path),
                elapsed_ms, int(time.time()), ".overlap" if profiled.overlap else "")
            filename = self._unique(os.path.join(self.folder, name))
            try:
                stats.to_file(filename)
            except OSError as error:
                sys.stderr.write("lineprof.middleware: could not write %s: %s\n"
                                 % (filename, error))
                return
            self.profiled += 1
        finally:
            self.profiler.clear()
            _profiling.release()

    @staticmethod
    def _unique(filename):
        """filename, or filename with .2, .3... before .lprof if this process
        wrote one of that name already (same path, time and second)."""
        stem, n = filename[:-len(".lprof")], 1
        while os.path.exists(filename):
            n += 1
            filename = "%s.%d.lprof" % (stem, n)
        return filename


class WSGIMiddleware(_Middleware):
    """Profiles sampled requests of a WSGI application (see the module's
    docstring): the application's call and the iteration of its response,
    until the server closes it."""

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        enable, disable = self.profiler.enable_by_count, self.profiler.disable_by_count
        request = _Request()
        request.begin()
        profiled = None
        try:
            if self._wanted(environ):
                profiled = self._try_start(request)
            if profiled is None:
                return _Counted(self.app(environ, start_response), request)
            enable()
            try:
                result = self.app(environ, start_response)
            finally:
                disable()
        except BaseException:
            request.end()
            if profiled is not None:
                self._finish(profiled, method, path)
            raise
        return _Profiled(result, request, lambda: self._finish(profiled, method, path),
                         enable, disable)


class _Counted:
    """The response of an unprofiled request: ends its count when closed."""

    def __init__(self, result, request):
        self.result = result
        self.request = request
        self._done = False

    def __iter__(self):
        return iter(self.result)

    def close(self):
        if self._done:
            return
        self._done = True
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                self._close(close)
        finally:
            self.request.end()
            self._finish()

    def _close(self, close):
        close()

    def _finish(self):
        pass


class _Profiled(_Counted):
    """The response of a profiled request: profiling is on while it yields
    its chunks and while it closes; the profile is written once it is closed."""

    def __init__(self, result, request, finish, enable, disable):
        super().__init__(result, request)
        self._finish = finish
        self.enable, self.disable = enable, disable

    def __iter__(self):
        self.enable()
        try:
            iterator = iter(self.result)
        finally:
            self.disable()
        while True:
            self.enable()
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                self.disable()
            yield chunk

    def _close(self, close):
        self.enable()
        try:
            close()
        finally:
            self.disable()


class ASGIMiddleware(_Middleware):
    """Profiles sampled http requests of an ASGI 3 application (see the
    module's docstring): from the application's call until it returns.
    Websocket connections are counted as requests in flight (for overlap)
    and not profiled; lifespan events pass through."""

    async def __call__(self, scope, receive, send):
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        request = _Request()
        request.begin()
        profiled = None
        try:
            if kind == "http" and self._wanted(scope):
                profiled = self._try_start(request)
            if profiled is None:
                return await self.app(scope, receive, send)
            self.profiler.enable_by_count()
            try:
                return await self.app(scope, receive, send)
            finally:
                self.profiler.disable_by_count()
        finally:
            request.end()
            if profiled is not None:
                self._finish(profiled, scope.get("method", ""), scope.get("path", ""))
