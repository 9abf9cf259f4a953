"""Reading and writing .lprof files.

lineprof's own format (never unpickled, safe to open from anywhere):

    LINEPROF <version>\\n          ASCII header; version 1 today
    <JSON object, UTF-8>

    {"unit": 1e-09,                seconds per time unit
     "metadata": {...},            free-form: python, argv, start_time, timer...
     "functions": [
        {"file": "script.py",      co_filename
         "line": 3,                co_firstlineno
         "name": "main",           co_qualname (3.11+) or co_name
         "code_hash": "ab12...",   hash of the function's source, or null
         "calls": 12,              frames started, or null (optional)
         "lines": [[lineno, hits, time], ...],
         "callers": [[function, lineno, calls, time], ...],
                                   optional: the calls from line lineno of
                                   functions[function] and the part of that
                                   line's time they took (LineStats.edges)
         "memory": [[lineno, allocated, freed, peak], ...]}]}
                                   optional (profiles taken with memory on):
                                   bytes (LineStats.memory)

A reader refuses a version newer than its own with a clear error. Keys a
reader does not know are ignored, so that "callers" (added within format 1)
and "memory" are simply absent from older files and skipped by older
readers.

line_profiler's .lprof files are pickles of its LineStats. They are read with
an unpickler that resolves no name but that class (mapped to a harmless
stand-in) and then checks that what it got is plain profile data, so a
hostile pickle cannot run code.
"""
import io
import json
import os
import pickle
import pickletools
import tempfile

from lineprof.stats import LineStats

FORMAT_VERSION = 1
MAGIC = b"LINEPROF "

# Larger files are refused rather than read into memory.
MAX_FILE_BYTES = 1 << 30


class LprofFormatError(ValueError):
    """A file that is not a readable .lprof file; str() is one clear line."""


def dump_stats(stats, filename):
    """Writes stats to filename atomically: a reader never sees half a file."""
    keys = sorted(stats.timings)
    index = {key: i for i, key in enumerate(keys)}
    callers = {}
    for (caller, lineno, callee), (calls, time) in sorted(stats.edges.items()):
        if caller in index and callee in index:
            callers.setdefault(callee, []).append([index[caller], lineno, calls, time])
    functions = []
    for key in keys:
        (file, line, name), lines = key, stats.timings[key]
        functions.append({
            "file": file,
            "line": line,
            "name": name,
            "code_hash": stats.code_hashes.get((file, line, name)),
            "calls": stats.calls.get((file, line, name)),
            "lines": [[lineno, hits, time] for lineno, hits, time in lines],
        })
        if key in callers:
            functions[-1]["callers"] = callers[key]
        if stats.memory.get(key):
            functions[-1]["memory"] = [[lineno] + list(counts)
                                       for lineno, counts in sorted(stats.memory[key].items())]
    document = {"unit": stats.unit, "metadata": stats.metadata, "functions": functions}
    payload = MAGIC + b"%d\n" % FORMAT_VERSION + json.dumps(
        document, separators=(",", ":"), default=str).encode("utf-8")
    write_atomically(filename, payload)


_FALLBACK_UMASK = []     # read once, where /proc/self/status has no Umask line


def current_umask():
    """The process's umask, read without changing it: from /proc/self/status
    (Linux 4.7+). Elsewhere os.umask() must set it to read it, which another
    thread creating a file at that moment would see: that is done once and
    the value kept."""
    try:
        with open("/proc/self/status", "rb") as stream:
            for line in stream:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    if not _FALLBACK_UMASK:
        mask = os.umask(0o077)
        os.umask(mask)
        _FALLBACK_UMASK.append(mask)
    return _FALLBACK_UMASK[0]


def write_atomically(filename, payload):
    """Writes bytes through a temporary file in the same folder and a rename.
    The file gets the mode that open() would give it (0o666 less the umask),
    not mkstemp's private 0o600."""
    folder = os.path.dirname(os.path.abspath(filename))
    descriptor, temporary = tempfile.mkstemp(
        prefix="." + os.path.basename(filename) + ".", suffix=".tmp", dir=folder)
    try:
        try:
            os.fchmod(descriptor, 0o666 & ~current_umask())
        except OSError:
            pass        # a file system without modes: the file stays as made
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, filename)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def load_stats(filename):
    """Reads a .lprof file: lineprof's format, or line_profiler's pickle."""
    try:
        size = os.path.getsize(filename)
        if os.path.isdir(filename):
            raise IsADirectoryError(filename)
        if size > MAX_FILE_BYTES:
            raise LprofFormatError("%s: too large for a .lprof file (%d bytes)" % (filename, size))
        with open(filename, "rb") as stream:
            data = stream.read()
    except LprofFormatError:
        raise
    except IsADirectoryError:
        raise LprofFormatError("%s: is a directory, not a .lprof file" % filename)
    except OSError as error:
        raise LprofFormatError("%s: %s" % (filename, error.strerror or error))
    return loads(data, filename)


def loads(data, filename="<bytes>"):
    """Parses the bytes of a .lprof file."""
    if not data:
        raise LprofFormatError("%s: empty file, not a .lprof file" % filename)
    if data.startswith(MAGIC):
        return _load_lineprof(data, filename)
    if data[:1] == b"\x80" or data[:1] in (b"(", b"}", b"c"):
        return _load_pickle(data, filename)
    raise LprofFormatError("%s: not a .lprof file" % filename)


def _load_lineprof(data, filename):
    header, _, body = data.partition(b"\n")
    version_text = header[len(MAGIC):]
    if not version_text.isdigit() or len(version_text) > 9:
        raise LprofFormatError("%s: damaged .lprof header" % filename)
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise LprofFormatError(
            "%s: written by a newer lineprof (format %d); this one reads format %d"
            % (filename, version, FORMAT_VERSION))
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise LprofFormatError("%s: damaged .lprof file (the data is not valid JSON)" % filename)
    try:
        return _stats_from_document(document)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as error:
        raise LprofFormatError("%s: damaged .lprof file (%s)" % (filename, error))


def _check(condition, what):
    if not condition:
        raise ValueError(what)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _stats_from_document(document):
    _check(isinstance(document, dict), "the top level is not an object")
    unit = document["unit"]
    _check(isinstance(unit, (int, float)) and not isinstance(unit, bool) and 0 < unit < 1e6,
           "bad unit %r" % (unit,))
    metadata = document.get("metadata", {})
    _check(isinstance(metadata, dict), "metadata is not an object")
    functions = document["functions"]
    _check(isinstance(functions, list), "functions is not a list")
    timings = {}
    code_hashes = {}
    calls = {}
    keys = []
    for function in functions:
        _check(isinstance(function, dict), "a function is not an object")
        key = (function["file"], function["line"], function["name"])
        _check(isinstance(key[0], str) and _is_int(key[1]) and isinstance(key[2], str),
               "bad function key %r" % (key,))
        code_hash = function.get("code_hash")
        _check(code_hash is None or isinstance(code_hash, str), "bad code hash")
        call_count = function.get("calls")
        _check(call_count is None or (_is_int(call_count) and call_count >= 0), "bad calls")
        lines = function["lines"]
        _check(isinstance(lines, list), "lines is not a list")
        rows = []
        for row in lines:
            _check(isinstance(row, list) and len(row) == 3 and all(_is_int(v) for v in row)
                   and min(row) >= 0, "bad line row %r" % (row,))
            rows.append(tuple(row))
        timings[key] = rows
        keys.append(key)
        if code_hash is not None:
            code_hashes[key] = code_hash
        if call_count is not None:
            calls[key] = call_count
    edges = {}
    for function, callee in zip(functions, keys):
        callers = function.get("callers", [])
        _check(isinstance(callers, list), "callers is not a list")
        for row in callers:
            _check(isinstance(row, list) and len(row) == 4 and all(_is_int(v) for v in row)
                   and min(row) >= 0 and row[0] < len(keys), "bad caller row %r" % (row,))
            edge = (keys[row[0]], row[1], callee)
            old_calls, old_time = edges.get(edge, (0, 0))
            edges[edge] = (old_calls + row[2], old_time + row[3])
    memory = {}
    for function, key in zip(functions, keys):
        rows = function.get("memory", [])
        _check(isinstance(rows, list), "memory is not a list")
        lines = memory.setdefault(key, {}) if rows else None
        for row in rows:
            _check(isinstance(row, list) and len(row) == 4 and all(_is_int(v) for v in row)
                   and min(row[:3]) >= 0, "bad memory row %r" % (row,))
            old = lines.get(row[0], (0, 0, 0))
            lines[row[0]] = (old[0] + row[1], old[1] + row[2], max(old[2], row[3]))
    return LineStats(timings, float(unit), code_hashes, metadata, calls, edges, memory)


class _PickledLineStats:
    """Stands in for line_profiler's LineStats while unpickling: it keeps the
    state it is given and runs nothing."""

    def __init__(self, *args, **kwargs):
        self.state = {"timings": args[0] if args else kwargs.get("timings"),
                      "unit": args[1] if len(args) > 1 else kwargs.get("unit")}

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = state[1]    # (dict state, slots state)
        self.state = state


# Where line_profiler's LineStats has lived across its versions.
_LINE_PROFILER_CLASSES = {
    ("line_profiler.line_profiler", "LineStats"),
    ("line_profiler._line_profiler", "LineStats"),
    ("line_profiler", "LineStats"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _LINE_PROFILER_CLASSES:
            return _PickledLineStats
        raise pickle.UnpicklingError("refusing to load %s.%s" % (module, name))


def _load_pickle(data, filename):
    try:
        # A first pass over the opcodes, which reads each argument from the
        # data itself: a pickle claiming a huge object it does not hold is
        # refused here, where the unpickler would allocate the claimed size.
        for _ in pickletools.genops(data):
            pass
        loaded = _RestrictedUnpickler(io.BytesIO(data)).load()
    except RecursionError:
        raise LprofFormatError("%s: damaged line_profiler file (nested too deep)" % filename)
    except pickle.UnpicklingError as error:
        if "refusing" in str(error):
            raise LprofFormatError(
                "%s: refused: a line_profiler file may only hold profile data, this one "
                "asks to load code (%s)" % (filename, str(error).replace("refusing to load ", "")))
        raise LprofFormatError("%s: damaged or not a .lprof file" % filename)
    except Exception:
        raise LprofFormatError("%s: damaged or not a .lprof file" % filename)
    if not isinstance(loaded, _PickledLineStats) or not isinstance(loaded.state, dict):
        raise LprofFormatError("%s: a pickle, but not line_profiler's LineStats" % filename)
    try:
        return _stats_from_pickled_state(loaded.state)
    except (TypeError, ValueError, KeyError) as error:
        raise LprofFormatError("%s: damaged line_profiler file (%s)" % (filename, error))


def _stats_from_pickled_state(state):
    timings, unit = state["timings"], state["unit"]
    _check(isinstance(unit, float) and 0 < unit < 1e6, "bad unit %r" % (unit,))
    _check(isinstance(timings, dict), "timings is not a dict")
    result = {}
    for key, lines in timings.items():
        _check(isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], str)
               and _is_int(key[1]) and isinstance(key[2], str), "bad function key %r" % (key,))
        _check(isinstance(lines, list), "bad lines for %r" % (key,))
        rows = []
        for row in lines:
            _check(isinstance(row, tuple) and len(row) == 3 and _is_int(row[0]) and _is_int(row[1])
                   and isinstance(row[2], (int, float)) and not isinstance(row[2], bool),
                   "bad line row %r" % (row,))
            rows.append((row[0], row[1], int(round(row[2]))))
        result[key] = rows
    return LineStats(result, unit, metadata={"source": "line_profiler"})
