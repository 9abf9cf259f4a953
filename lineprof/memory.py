"""Memory per line (issue 14): what reports show of it, and rss().

The counting is done in C (lineprof/_tracer/memory.c, docs/DESIGN.md "Memory
per line"); a profile taken with memory on has LineStats.memory, per line
(allocated, freed, peak) in bytes. Reports show two columns of it:
  Net   allocated - freed while the line ran (callees included)
  Peak  the function call's net allocation at its highest while the line
        ran, the largest over its calls
with units that scale (B, KiB, MiB, GiB).

rss() is the "resident set size before and after" helper that profiling
guides write by hand, as a decorator or a context manager:

    with lineprof.memory.rss("load"):
        data = load()
    # rss load: 102.3 MiB -> 181.9 MiB (+79.6 MiB)
"""
import contextlib
import functools
import os
import sys

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(count, signed=False):
    """1536 -> '1.5 KiB'; signed puts '+' before a positive count."""
    sign = "-" if count < 0 else ("+" if signed and count > 0 else "")
    value = float(abs(count))
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return "%s%d B" % (sign, int(value))
    return "%s%.1f %s" % (sign, value, _UNITS[unit])


def line_cells(memory):
    """{lineno: (net, peak)} display texts of one function's memory rows."""
    return {lineno: (format_bytes(allocated - freed), format_bytes(peak))
            for lineno, (allocated, freed, peak) in memory.items()}


def resident_bytes():
    """This process's resident set size in bytes (Linux: /proc; elsewhere
    the peak from getrusage, the best the standard library offers)."""
    try:
        with open("/proc/self/statm") as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class rss(contextlib.ContextDecorator):
    """Prints the resident set size before and after a block or each call
    of a function: ``rss NAME: BEFORE -> AFTER (+CHANGE)`` on stream
    (stderr by default). As a bare decorator, NAME is the function's."""

    def __new__(cls, name=None, stream=None):
        if callable(name):          # @rss without arguments
            func = name
            return functools.wraps(func)(rss(func.__qualname__, stream)(func))
        return super().__new__(cls)

    def __init__(self, name=None, stream=None):
        self.name = name or "block"
        self.stream = stream
        self._before = []           # a stack: the same object may nest (recursion)

    def __enter__(self):
        self._before.append(resident_bytes())
        return self

    def __exit__(self, *exc_info):
        before = self._before.pop()
        after = resident_bytes()
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write("rss %s: %s -> %s (%s)\n" % (self.name, format_bytes(before),
                                                  format_bytes(after),
                                                  format_bytes(after - before, signed=True)))
        return False
