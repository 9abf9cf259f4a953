"""Writes per-function totals of a profile as a pstats file, for
``pstats.Stats``, snakeviz and gprof2dot.

The file is what cProfile's ``dump_stats`` writes: ``marshal.dump`` of a dict

    {(filename, first_lineno, function_name):
         (primitive_calls, total_calls, tottime, cumtime, callers)}

A line profile has no call graph, so the values come from the line data:

- calls (primitive and total alike) are the calls lineprof's tracer counted
  (frames started; a generator's resumes are not calls). A profile without
  them (line_profiler's files) gets an estimate: the hits of the function's
  first executed line, the smallest line number with hits, which every call
  runs once, so a function whose very first statement is a loop header is
  counted with that header's iterations.
- tottime and cumtime are both the function's total time in seconds, the sum
  of its line times. Line times include the callees, so tottime includes
  them too; a recursive function's nested calls are counted again in the
  outer call's lines, as in the line report.
- callers is always empty ({}): the viewers show every function as a root.

Functions that never ran are written with zero calls and zero time.
"""
import marshal

from lineprof.datafile import write_atomically


def write_pstats(stats, path):
    """Writes stats (a LineStats) to path in the pstats format, atomically."""
    write_atomically(path, marshal.dumps(pstats_dict(stats)))


def pstats_dict(stats):
    """The dict cProfile's create_stats() makes, from the line data of stats."""
    result = {}
    for key, lines in stats.timings.items():
        calls = stats.calls[key] if key in stats.calls else estimated_calls(lines)
        seconds = sum(time for _, _, time in lines) * stats.unit
        result[key] = (calls, calls, seconds, seconds, {})
    return result


def estimated_calls(lines):
    """The hits of the first executed line of a function, 0 if none ran."""
    executed = [(lineno, hits) for lineno, hits, _ in lines if hits > 0]
    return min(executed)[1] if executed else 0
