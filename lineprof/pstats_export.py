"""Writes per-function totals of a profile as a pstats file, for
``pstats.Stats``, snakeviz and gprof2dot.

The file is what cProfile's ``dump_stats`` writes: ``marshal.dump`` of a dict

    {(filename, first_lineno, function_name):
         (primitive_calls, total_calls, tottime, cumtime, callers)}

A line profile has no call counts and no call graph, so the values are
derived from the line data:

- calls (primitive and total alike) are the hits of the function's first
  executed line, the smallest line number with hits: every call runs it
  once. A generator's resumes are not calls, and neither are the iterations
  of a loop, except that a function whose very first statement is a loop
  header counts that header's hits (its iterations plus one per call).
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
        calls = call_count(lines)
        seconds = sum(time for _, _, time in lines) * stats.unit
        result[key] = (calls, calls, seconds, seconds, {})
    return result


def call_count(lines):
    """The hits of the first executed line of a function, 0 if none ran."""
    executed = [(lineno, hits) for lineno, hits, _ in lines if hits > 0]
    return min(executed)[1] if executed else 0
