"""Writes a profile in the callgrind format, for KCacheGrind, QCacheGrind and
callgrind_annotate.

The file follows valgrind's "Callgrind Format Specification":

    # callgrind format
    version: 1
    creator: lineprof 0.1.0
    cmd: prog.py arg
    positions: line
    event: Time_ns : Time (ns, including callees)
    event: Hits : Line executions
    events: Time_ns Hits
    summary: 5230 23

    fl=/path/prog.py
    fn=work
    5 120 1            <line> <time in ns> <hits>
    6 2900 11
    ...

    totals: 5230 23

Each profiled function is one ``fl=``/``fn=`` block with one cost line per
profiled line; times are whole nanoseconds, converted from the profile's
unit. No name compression is used.

A line's time includes the time of the functions it calls, and the profile
has no call graph, so no ``calls=`` lines are written: KCacheGrind's "self"
cost of a line is therefore what the line took including its callees, and
"inclusive" equals "self". For the same reason the summary adds up times that
may overlap when one profiled function calls another.

Functions that never ran (no line recorded) have no cost and are left out.
Two functions with the same name in the same file (two lambdas, a redefined
function) get their first line appended, ``name:12``, so that the viewers do
not merge them.
"""
import shlex
from collections import Counter

from lineprof import __version__
from lineprof.datafile import write_atomically

TIME_EVENT = "Time_ns"
HITS_EVENT = "Hits"


def write_callgrind(stats, path):
    """Writes stats (a LineStats) to path in the callgrind format, atomically."""
    write_atomically(path, callgrind_text(stats).encode("utf-8"))


def callgrind_text(stats):
    """The callgrind file for stats, as text."""
    to_ns = ns_converter(stats.unit)
    functions = [(key, lines) for key, lines in sorted(stats.timings.items()) if lines]
    name_counts = Counter((filename, name) for (filename, _, name), _ in functions)

    body = []
    total_time = total_hits = 0
    for (filename, first_lineno, name), lines in functions:
        if name_counts[filename, name] > 1:
            name = "%s:%d" % (name, first_lineno)
        body.append("")
        body.append("fl=" + _one_line(filename))
        body.append("fn=" + _one_line(name))
        for lineno, hits, time in lines:
            time_ns = to_ns(time)
            body.append("%d %d %d" % (lineno, time_ns, hits))
            total_time += time_ns
            total_hits += hits

    argv = stats.metadata.get("argv")
    command = _join_command(argv) if isinstance(argv, list) else ""
    header = [
        "# callgrind format",
        "version: 1",
        "creator: lineprof " + __version__,
        "cmd: " + _one_line(command),
        "positions: line",
        "event: %s : Time (ns, including callees)" % TIME_EVENT,
        "event: %s : Line executions" % HITS_EVENT,
        "events: %s %s" % (TIME_EVENT, HITS_EVENT),
        "summary: %d %d" % (total_time, total_hits),
    ]
    footer = ["", "totals: %d %d" % (total_time, total_hits)]
    return "\n".join(header + body + footer) + "\n"


def ns_converter(unit):
    """A function turning a time in `unit` seconds into whole nanoseconds:
    exact integer arithmetic when the unit is a whole number of ns."""
    ns_per_unit = unit * 1e9
    whole = int(round(ns_per_unit))
    if whole >= 1 and abs(ns_per_unit - whole) <= 1e-9 * whole:
        return lambda time: int(time) * whole
    return lambda time: int(round(time * ns_per_unit))


def _join_command(argv):
    return " ".join(shlex.quote(str(argument)) for argument in argv)


def _one_line(text):
    """The format is line based: a newline in a name would end its line."""
    return str(text).replace("\r", " ").replace("\n", " ")
