"""Writes a profile in the callgrind format, for KCacheGrind, QCacheGrind and
callgrind_annotate.

The file follows valgrind's "Callgrind Format Specification"
(https://valgrind.org/docs/manual/cl-format.html):

    # callgrind format
    version: 1
    creator: lineprof 0.1.0
    cmd: prog.py arg
    positions: line
    event: Time_ns : Time (ns)
    event: Hits : Line executions
    events: Time_ns Hits
    summary: 5230 23

    fl=/path/prog.py
    fn=work
    5 120 1            <line> <self time in ns> <hits>
    6 400 11
    cfl=/path/prog.py  a call from the line above: the callee's file,
    cfn=helper         its function,
    calls=10 9         the number of calls and the callee's first line,
    6 2500 0           the caller's line, the calls' time in ns, no hits
    ...

    totals: 5230 23

Each profiled function is one ``fl=``/``fn=`` block with one cost line per
profiled line; times are whole nanoseconds, converted from the profile's
unit. No name compression is used.

The call graph is the profile's ``edges`` (see LineStats): for each profiled
function called from a line of another profiled function (its nearest
profiled caller on its thread), the line's cost line is followed by a call:
``cfl=``/``cfn=`` name the callee, ``calls=`` gives how many calls that line
made and the callee's first line, and the cost line after it is the caller's
line with the time those calls took (their inclusive cost). The line's own
cost line holds its self time: the line's time less its calls' (0 if the
tracer's rounding makes that a few ns negative, and a call's negative time
is written as 0). So KCacheGrind and
callgrind_annotate show self and inclusive cost per line and per function,
and the call tree; the summary and totals add up self costs only, which is
the profiled time without counting a nested call twice (LineStats
.profiled_time()).

Hits stay on the line's own cost line; a call's cost line has 0 hits, so that
the total hits are the line executions, not counted again through the calls,
and a caller's inclusive hits are its own line executions. (The profile does
not say which of a callee's line executions came from which caller, so none
are attributed. callgrind_annotate --inclusive=yes takes a called function's
inclusive cost from the calls into it: it shows such a function with 0 hits,
and with the time its callers saw, which includes the call's own overhead.)

A direct recursive call (a function calling itself) is written like any
other: its count is the recursive calls, and its time is about 0, since the
tracer pauses the outer frame while the inner one runs.

Profiles without a call graph (written before lineprof recorded calls, and
line_profiler's) have no ``calls=`` lines: a line's time then includes the
time of the functions it calls, and the Time event says so ("Time (ns,
including callees)"); self and inclusive cost are then the same, and the
summary may add up times that overlap when one profiled function calls
another.

Functions that never ran (no line recorded, and no call recorded from them)
have no cost and are left out. Two functions with the same name in the same
file (two lambdas, a redefined function) get their first line appended,
``name:12``, so that the viewers do not merge them.
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
    # {caller key: {caller line: [(callee key, calls, time)]}}
    calls_from = {}
    for (caller, lineno, callee), (calls, time) in sorted(stats.edges.items()):
        calls_from.setdefault(caller, {}).setdefault(lineno, []).append(
            (callee, calls, max(0, time)))
    functions = {key: lines for key, lines in stats.timings.items() if lines}
    for caller in calls_from:
        functions.setdefault(caller, [])
    named = set(functions) | {callee for (_, _, callee) in stats.edges}
    name_counts = Counter((filename, name) for filename, _, name in named)

    def function_name(key):
        filename, first_lineno, name = key
        if name_counts[filename, name] > 1:
            return "%s:%d" % (name, first_lineno)
        return name

    body = []
    total_time = total_hits = 0
    for key in sorted(functions):
        costs = {lineno: (hits, time) for lineno, hits, time in functions[key]}
        calls_here = calls_from.get(key, {})
        body.append("")
        body.append("fl=" + _one_line(key[0]))
        body.append("fn=" + _one_line(function_name(key)))
        for lineno in sorted(set(costs) | set(calls_here)):
            hits, time = costs.get(lineno, (0, 0))
            calls = calls_here.get(lineno, ())
            self_ns = to_ns(max(0, time - sum(call_time for _, _, call_time in calls)))
            body.append("%d %d %d" % (lineno, self_ns, hits))
            total_time += self_ns
            total_hits += hits
            for callee, count, call_time in calls:
                body.append("cfl=" + _one_line(callee[0]))
                body.append("cfn=" + _one_line(function_name(callee)))
                body.append("calls=%d %d" % (count, callee[1]))
                body.append("%d %d 0" % (lineno, to_ns(call_time)))

    argv = stats.metadata.get("argv")
    command = _join_command(argv) if isinstance(argv, list) else ""
    header = [
        "# callgrind format",
        "version: 1",
        "creator: lineprof " + __version__,
        "cmd: " + _one_line(command),
        "positions: line",
        "event: %s : %s" % (TIME_EVENT, "Time (ns)" if stats.edges
                            else "Time (ns, including callees)"),
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
