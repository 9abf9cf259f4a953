"""The text report, laid out column for column as line_profiler's.

    Timer unit: 1e-06 s

    Total time: 0.0123 s
    File: script.py
    Function: main at line 3

    Line #      Hits         Time  Per Hit   % Time  Line Contents
    ==============================================================
         3                                           @profile
         4                                           def main():
         5         1      12300.0  12300.0    100.0      work()

A number too wide for its column is shown in %g notation and the column
widens for numbers that still do not fit, so rows stay aligned.

When the profile has its call graph (``edges``, see lineprof.stats) and a
function's calls to profiled functions took time (so that its own time
differs from its total), its header gets one more line, after
line_profiler's three, with the function's own time:

    Total time: 0.0123 s
    File: script.py
    Function: main at line 3
    Own time: 0.0023 s (excluding 0.01 s in the profiled functions it called)

A leaf function, and every function of a profile without edges (older
files, line_profiler's), has line_profiler's header unchanged. The
--summarize lines stay line_profiler's (total time only).

A profile taken with memory on (LineStats.memory) gets two more columns
before the line's contents, Net and Peak (lineprof.memory):

    Line #      Hits         Time  Per Hit   % Time        Net       Peak  Line Contents
"""
import inspect
import linecache
import os
import sys

from lineprof import notebook

# Minimum widths of the numeric columns: line, hits, time, per hit, % time.
_WIDTHS = (6, 9, 12, 8, 8)
_HEADER = ("Line #", "Hits", "Time", "Per Hit", "% Time", "Line Contents")
_MEMORY_HEADER = ("Net", "Peak")
_MEMORY_WIDTH = 10


def _fixed_or_general(value, width):
    text = "%5.1f" % value
    return text if len(text) <= width else "%5.1g" % value


def _cells(timings, scalar, total_time):
    """The displayed hits, time, per-hit time and percentage of each line."""
    cells = {}
    for lineno, hits, time in timings:
        hits_text = "%d" % hits
        if len(hits_text) > _WIDTHS[1]:
            hits_text = "%g" % hits
        per_hit = _fixed_or_general(time * scalar / hits, _WIDTHS[3]) if hits else ""
        percent = "%5.1f" % (100.0 * time / total_time) if total_time else ""
        cells[lineno] = (hits_text, _fixed_or_general(time * scalar, _WIDTHS[2]), per_hit, percent)
    return cells


def _source_lines(filename, start_lineno, timings):
    """The function's source lines, or None if the file cannot be read."""
    if not os.path.exists(filename) and not linecache.getlines(filename) \
            and not notebook.cache_cell_of(filename):
        return None
    linecache.checkcache(filename)
    all_lines = linecache.getlines(filename)
    if not all_lines:
        return None
    try:
        block = inspect.getblock(all_lines[start_lineno - 1:])
    except (IndentationError, SyntaxError, IndexError, TypeError):
        block = all_lines[start_lineno - 1:]
    # A profiled line past the block's end (e.g. a decorator's odd layout)
    # still gets its row.
    last = max([lineno for lineno, _, _ in timings] + [start_lineno + len(block) - 1])
    return all_lines[start_lineno - 1:last]


def _own_time_line(total_seconds, callee_seconds):
    """The header line added for a function that called profiled functions."""
    own = max(0.0, total_seconds - callee_seconds)
    return "Own time: %g s (excluding %g s in the profiled functions it called)\n" % (
        own, callee_seconds)


def callee_times_of(edges):
    """{caller key: time of its calls to profiled functions, in the unit}
    (0 for a function whose only profiled calls are direct recursion, which
    takes none of its calling line's time: its own time is its total)."""
    times = {}
    for (caller, _, _), (_, time) in (edges or {}).items():
        times[caller] = times.get(caller, 0) + time
    return times


class _Escaping:
    """A text stream's write() that escapes (\\u2200) what the stream's
    encoding cannot hold, as line_profiler does, instead of raising
    UnicodeEncodeError (PYTHONIOENCODING=ascii, a C locale)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        try:
            self.stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            self.stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def _escaping(stream):
    stream = sys.stdout if stream is None else stream
    return stream if isinstance(stream, _Escaping) else _Escaping(stream)


def show_func(filename, start_lineno, func_name, timings, unit, output_unit=None,
              stream=None, stripzeros=False, details=True, summarize=False, sort=False,
              rich=False, callee_time=None, memory=None, column_widths=None):
    """Writes one function's block of the report. callee_time, the part of
    its time (in unit) spent in the profiled functions it called, adds the
    "Own time" line when given (None: line_profiler's header only). memory,
    the function's {lineno: (allocated, freed, peak)}, adds the Net and Peak
    columns (None: line_profiler's columns only). column_widths, five
    numbers, are the least widths of the line, hits, time, per hit and % time
    columns (None: line_profiler's, 6, 9, 12, 8, 8)."""
    del summarize, sort, rich     # accepted for line_profiler compatibility
    stream = _escaping(stream)
    total_hits = sum(hits for _, hits, _ in timings)
    total_time = sum(time for _, _, time in timings)
    if stripzeros and total_hits == 0:
        return
    scalar = unit / (output_unit or unit)
    stream.write("Total time: %g s\n" % (total_time * unit))
    sublines = _source_lines(filename, start_lineno, timings)
    if sublines is not None:
        stream.write("File: %s\n" % filename)
        stream.write("Function: %s at line %s\n" % (func_name, start_lineno))
    else:
        stream.write("\n")
        stream.write("Could not find file %s\n" % filename)
        stream.write("Are you sure you are running this program from the same directory\n")
        stream.write("that you ran the profiler from?\n")
        stream.write("Continuing without the function's contents.\n")
        linenos = [lineno for lineno, _, _ in timings]
        count = max(linenos) - min(min(linenos), start_lineno) + 1 if linenos else 1
        sublines = [""] * count
    if callee_time is not None:
        stream.write(_own_time_line(total_time * unit, callee_time * unit))
    if not details:
        stream.write("\n")
        return
    cells = _cells(timings, scalar, total_time)
    widths = list(column_widths or _WIDTHS)
    for column in (1, 2, 3):
        widths[column] = max([widths[column]] + [len(row[column - 1]) for row in cells.values()])
    blank = ("", "", "", "")
    names = _HEADER
    if memory is not None:
        from lineprof.memory import line_cells
        memory_cells = line_cells(memory)
        for column in (0, 1):
            widths.append(max([_MEMORY_WIDTH] + [len(row[column]) for row in memory_cells.values()]))
        names = _HEADER[:5] + _MEMORY_HEADER + _HEADER[5:]
    template = " ".join("%%%ds" % width for width in widths) + "  %-s"
    header = template % names
    stream.write("\n%s\n%s\n" % (header, "=" * len(header)))
    for lineno, line in enumerate(sublines, start_lineno):
        row = (lineno,) + cells.get(lineno, blank)
        if memory is not None:
            row += memory_cells.get(lineno, ("", ""))
        row += (line.rstrip("\n").rstrip("\r"),)
        stream.write(template % row + "\n")
    stream.write("\n")


def show_text(stats, unit, output_unit=None, stream=None, stripzeros=False, details=True,
              summarize=False, sort=False, rich=False, edges=None, memory=None,
              column_widths=None):
    """Writes the report of every function in stats ({key: timings}).

    sort orders functions by total time (least first, so the costliest ends
    up next to the prompt, as line_profiler does); summarize adds one line
    per function at the end, with its total time as line_profiler's. edges,
    the call graph of LineStats.edges, adds each calling function's own time
    to its header (without it, the report is line_profiler's); memory, as
    LineStats.memory, the Net and Peak columns of the functions it has;
    column_widths, as show_func's."""
    del rich
    callee_times = callee_times_of(edges)
    stream = _escaping(stream)
    stream.write("Timer unit: %g s\n\n" % (output_unit or unit))
    if sort:
        ordered = sorted(stats.items(), key=lambda item: sum(t for _, _, t in item[1]))
    else:
        ordered = sorted(stats.items())
    if details:
        for (filename, lineno, name), timings in ordered:
            show_func(filename, lineno, name, timings, unit, output_unit=output_unit,
                      stream=stream, stripzeros=stripzeros,
                      callee_time=callee_times.get((filename, lineno, name)) or None,
                      memory=memory.get((filename, lineno, name), {}) if memory else None,
                      column_widths=column_widths)
    if summarize:
        for (filename, lineno, name), timings in ordered:
            total = sum(t for _, _, t in timings) * unit
            if not stripzeros or total:
                stream.write("%6.2f seconds - %s:%s - %s\n" % (total, filename, lineno, name))
