"""`--top N`: the N lines with the most time across all profiled functions.

    Timer unit: 1e-06 s
    Top 3 lines by time, of 0.0462 s in 2 functions

      Time    % All     Hits  Per Hit  Where                          Line Contents
    31200.0    67.5    99990      0.3  primes.py:12 is_prime          if n % d == 0:
     ...

"% All" is the line's share of the time of all profiled functions; a line of
a function called from another profiled function is counted in both, as in
the full report.
"""
import linecache
import os
import sys


def top_lines(timings, count):
    """[(time, hits, filename, lineno, func_name)] of the `count` costliest lines."""
    rows = [(time, hits, filename, lineno, name)
            for (filename, _, name), lines in timings.items()
            for lineno, hits, time in lines if hits or time]
    rows.sort(key=lambda row: (-row[0], row[2], row[3]))
    return rows[:count]


def show_top(timings, unit, count, output_unit=None, stream=None):
    stream = sys.stdout if stream is None else stream
    output_unit = output_unit or unit
    scalar = unit / output_unit
    all_time = sum(time for lines in timings.values() for _, _, time in lines)
    rows = top_lines(timings, count)
    stream.write("Timer unit: %g s\n" % output_unit)
    stream.write("Top %d line%s by time, of %g s in %d function%s\n\n" % (
        len(rows), "" if len(rows) == 1 else "s", all_time * unit,
        len(timings), "" if len(timings) == 1 else "s"))
    if not rows:
        stream.write("No line was run.\n")
        return
    cells = []
    for time, hits, filename, lineno, name in rows:
        where = "%s:%d %s" % (os.path.basename(filename), lineno, name)
        contents = linecache.getline(filename, lineno).strip()
        cells.append(("%.1f" % (time * scalar),
                      "%.1f" % (100.0 * time / all_time) if all_time else "",
                      "%d" % hits,
                      "%.1f" % (time * scalar / hits) if hits else "",
                      where, contents))
    header = ("Time", "% All", "Hits", "Per Hit", "Where", "Line Contents")
    widths = [max(len(header[i]), max(len(row[i]) for row in cells)) for i in range(5)]
    template = "  ".join(["%%%ds" % width for width in widths[:4]] + ["%%-%ds" % widths[4]]) \
        + "  %s"
    stream.write((template % header).rstrip() + "\n")
    for row in cells:
        stream.write((template % row).rstrip() + "\n")
    stream.write("\n")
