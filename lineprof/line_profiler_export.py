"""Writes a profile as line_profiler's .lprof file, for people who share
profiles with line_profiler users: its viewer (`python -m line_profiler`)
cannot read lineprof's own files.

line_profiler's files are pickles of its ``LineStats``: a ``timings`` dict
mapping ``(filename, first_lineno, name)`` to a list of ``(lineno, hits,
time)`` tuples, and ``unit``, seconds per time unit. The pickle is put
together here from its opcodes, naming the class
``line_profiler.line_profiler.LineStats`` without importing line_profiler
(pickle's own writer would need the class). What line_profiler's format has
no room for (calls, the call graph, source hashes, metadata) is left out.

lineprof reads such files back with its restricted unpickler (datafile.py).
"""
import pickle

from lineprof.datafile import write_atomically

_CLASS = b"cline_profiler.line_profiler\nLineStats\n"     # GLOBAL


def line_profiler_bytes(stats):
    """The bytes of line_profiler's .lprof file for stats (a LineStats)."""
    state = {
        "timings": {key: [(lineno, hits, time) for lineno, hits, time in lines]
                    for key, lines in stats.timings.items()},
        "unit": float(stats.unit),
    }
    body = pickle.dumps(state, protocol=2)
    # PROTO 2, the class, an empty tuple, NEWOBJ (cls.__new__(cls)), the
    # state dict (its pickle without PROTO and STOP; nothing before it is
    # memoized, so its memo indices stand), BUILD (__dict__.update), STOP.
    return b"\x80\x02" + _CLASS + b")\x81" + body[2:-1] + b"b."


def write_line_profiler(stats, path):
    """Writes stats to path as line_profiler's .lprof file, atomically."""
    write_atomically(path, line_profiler_bytes(stats))
