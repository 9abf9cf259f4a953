"""Writes per-function totals and the call graph of a profile as a pstats
file, for ``pstats.Stats``, snakeviz and gprof2dot.

The file is what cProfile's ``dump_stats`` writes: ``marshal.dump`` of a dict

    {(filename, first_lineno, function_name):
         (primitive_calls, total_calls, tottime, cumtime, callers)}

with ``callers`` mapping each calling function's key to
``(total_calls, primitive_calls, tottime, cumtime)`` of the calls it made.
The values come from the line data and the call graph between the profiled
functions (``LineStats.edges``):

- total calls are the calls lineprof's tracer counted (frames started; a
  generator's resumes are not calls). Primitive calls are those less the
  calls a function made of itself directly (recursive by definition, as
  cProfile counts them); a call back through another function
  (f -> g -> f) is counted as primitive, which the call graph cannot tell
  apart. A profile without call counts (line_profiler's files) gets an
  estimate for both: the hits of the function's first executed line, the
  smallest line number with hits, which every call runs once, so a function
  whose very first statement is a loop header is counted with that header's
  iterations.
- cumtime is the function's total time in seconds, the sum of its line
  times; each moment counts once, also in recursion (a function's outer
  frame is paused while an inner frame of it runs).
- tottime is the function's own time (``LineStats.own_time``): its total less
  the time of the profiled functions it called. The tottimes add up to the
  time spent in profiled functions, each moment once, which is the total
  ``pstats.Stats`` shows in its header (``total_tt``).
- callers has an entry for each profiled function that called this one
  (the calls from all its lines summed up): the calls, and as cumtime the
  part of the caller's line times those calls took (``LineStats.edges``;
  that includes the cost of making the calls, which the function's own
  lines do not see, so it can be a little above the function's cumtime
  where cProfile's never is). Its tottime is this
  function's own time shared out among its callers in proportion to their
  cumtimes: own_time * caller's cumtime / D, where D is the sum of the
  callers' cumtimes when every call of the function came from a profiled
  function (so the shares add up to its tottime, as in cProfile), and
  otherwise the larger of that sum and the function's total time (the
  rest being the share of the calls from unprofiled code).
  A call graph keeps no time per call path, so this share is an estimate;
  the calls and cumtimes are measured. The consumers use only the calls
  and cumtimes of the callers (gprof2dot's edges, snakeviz's children).
- A function that no profiled function called has no callers: it is a root,
  as cProfile's top-level functions are. A function calling itself directly
  has itself among its callers with its calls and a cumtime of about 0 (its
  nested calls' time is counted in the inner frames' lines). Cycles are
  drawn as for cProfile's files: snakeviz stops a branch where a function
  comes back, gprof2dot draws the edges both ways (a self-call's 0% edge only
  with --edge-thres=0).

snakeviz draws only functions that call or are called by another: a profile
whose functions made no calls to each other (or without a call graph, below)
leaves it nothing to draw, and it shows its error box.

A profile without a call graph (written before lineprof recorded one, or by
line_profiler) has no callers at all: then tottime equals cumtime, the
function's total including the functions it called, and the header total
counts nested profiled calls more than once.

Functions that never ran are written with zero calls and zero time. A
profile without any function gets one entry ``("~", 0, "<no profiled
function>")`` with zero calls and time, as pstats cannot load an empty file
(pstats shows it as ``{no profiled function}``, the way it names built-ins).
"""
import marshal

from lineprof.datafile import write_atomically

# The only entry of the export of a profile without functions: pstats.Stats
# refuses a file holding an empty dict.
NO_FUNCTION = ("~", 0, "<no profiled function>")


def write_pstats(stats, path):
    """Writes stats (a LineStats) to path in the pstats format, atomically."""
    write_atomically(path, marshal.dumps(pstats_dict(stats)))


def pstats_dict(stats):
    """The dict cProfile's create_stats() makes, from the line data and the
    call graph of stats."""
    unit = stats.unit
    totals = {key: sum(time for _, _, time in lines) for key, lines in stats.timings.items()}
    own_times = stats.own_times()
    # Per function: the calls and time of its callers ({caller: [calls,
    # time]}, all caller lines summed), and the calls it made of itself.
    incoming = {key: {} for key in totals}
    self_calls = dict.fromkeys(totals, 0)
    for (caller, _, callee), (calls, time) in stats.edges.items():
        if caller not in totals or callee not in totals:
            # lineprof's edges join profiled functions; a key without an
            # entry would be a caller that snakeviz fails to look up.
            continue
        counts = incoming[callee].setdefault(caller, [0, 0])
        counts[0] += calls
        counts[1] += time
        if caller == callee:
            self_calls[callee] += calls

    result = {}
    for key, lines in stats.timings.items():
        known = key in stats.calls
        calls = stats.calls[key] if known else estimated_calls(lines)
        own = own_times[key]
        result[key] = (max(0, calls - self_calls[key]), calls, own, totals[key] * unit,
                       _callers(incoming[key], own, totals[key], calls if known else None, unit))
    if not result:
        result[NO_FUNCTION] = (0, 0, 0.0, 0.0, {})
    return result


def _callers(incoming, own, total, calls, unit):
    """The callers dict of one function: {caller: (calls, calls, tottime,
    cumtime)}, its own time shared out as the module docstring says."""
    called_from_profiled = sum(count for count, _ in incoming.values())
    edges_time = sum(time for _, time in incoming.values())
    if calls is not None and called_from_profiled >= calls:
        share_of = edges_time
    else:
        share_of = max(edges_time, total)
    # own * (time / share_of): a share is never above own, even by rounding.
    return {caller: (count, count, own * (time / share_of) if share_of else 0.0, time * unit)
            for caller, (count, time) in incoming.items()}


def estimated_calls(lines):
    """The hits of the first executed line of a function, 0 if none ran."""
    executed = [(lineno, hits) for lineno, hits, _ in lines if hits > 0]
    return min(executed)[1] if executed else 0
