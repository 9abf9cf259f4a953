"""`-r/--rich`: the report in colour, with the source highlighted, via `rich`.

The same functions, columns and numbers as the text report; the share of
time is coloured by heat (red from 20% of the function's time, yellow from
5%) and lines that never ran are dimmed. rich leaves colour out when the
output is not a terminal and when NO_COLOR is set. Without rich installed,
`available()` is false and the caller prints the plain text report.

Source is highlighted with the terminal's own palette (the eight ANSI colours,
which a terminal's theme adapts to its background), and identifiers, operators
and punctuation are left in the terminal's foreground colour: a fixed 256-colour
or true-colour theme (rich's default, monokai, writes names near-white) can
vanish on a light background.
"""
import os
import sys

from lineprof.text_report import _cells, _source_lines

HOT, WARM = 20.0, 5.0


def available():
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _console(stream):
    from rich.console import Console
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    # Off a terminal rich would wrap at 80 columns; a report keeps its rows.
    width = None if is_terminal else max(120, int(os.environ.get("COLUMNS", "0") or 0))
    return Console(file=stream, width=width, no_color=bool(os.environ.get("NO_COLOR")),
                   highlight=False)


def _heat_style(percent_text):
    try:
        percent = float(percent_text)
    except ValueError:
        return ""
    return "bold red" if percent >= HOT else "yellow" if percent >= WARM else ""


def _syntax_theme():
    """rich's 'ansi_light' theme (standard ANSI colours; plain tokens keep the
    terminal's foreground), with whitespace left uncoloured too."""
    from pygments.token import Whitespace
    from rich.style import Style
    from rich.syntax import ANSI_LIGHT, ANSISyntaxTheme
    styles = dict(ANSI_LIGHT)
    styles[Whitespace] = Style()
    return ANSISyntaxTheme(styles)


def _function_table(filename, start_lineno, name, timings, unit, output_unit, callee_time=0,
                    memory=None):
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

    total_time = sum(time for _, _, time in timings)
    scalar = unit / (output_unit or unit)
    cells = _cells(timings, scalar, total_time)
    source = _source_lines(filename, start_lineno, timings)
    title = Text.assemble(("Function: ", "bold"), (name, "bold cyan"),
                          " at line %d   " % start_lineno, ("File: ", "bold"), filename,
                          "   Total time: %g s" % (total_time * unit))
    if callee_time > 0:     # as the text report's "Own time:" line
        title.append("   Own time: %g s" % (max(0, total_time - callee_time) * unit))
    table = Table(title=title, title_justify="left", expand=False, show_edge=False,
                  header_style="bold")
    headers = ("Line #", "Hits", "Time", "Per Hit", "% Time")
    if memory is not None:
        from lineprof.memory import line_cells
        memory_cells = line_cells(memory)
        headers += ("Net", "Peak")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Line Contents", no_wrap=True, overflow="ellipsis")
    if source is None:
        linenos = sorted(lineno for lineno, _, _ in timings)
        lines = [(lineno, "") for lineno in linenos]
    else:
        lines = list(enumerate((line.rstrip("\r\n") for line in source), start_lineno))
    highlighter = Syntax("", "python", theme=_syntax_theme(), background_color="default")
    for lineno, line in lines:
        hits, time, per_hit, percent = cells.get(lineno, ("", "", "", ""))
        contents = highlighter.highlight(line)
        contents.rstrip()
        row_style = "dim" if not hits else ""
        memory_row = memory_cells.get(lineno, ("", "")) if memory is not None else ()
        table.add_row(str(lineno), hits, time, per_hit,
                      Text(percent.strip(), style=_heat_style(percent)), *memory_row, contents,
                      style=row_style)
    return table


def show_rich(timings, unit, output_unit=None, stream=None, stripzeros=False, sort=False,
              summarize=False, edges=None, memory=None):
    """Prints the report of every function in timings with rich; with the
    call graph (edges), a function that called profiled functions shows its
    own time too; with memory (LineStats.memory), the Net and Peak columns."""
    from lineprof.text_report import callee_times_of
    callee_times = callee_times_of(edges)
    stream = sys.stdout if stream is None else stream
    console = _console(stream)
    console.print("Timer unit: %g s" % (output_unit or unit))
    if sort:
        ordered = sorted(timings.items(), key=lambda item: sum(t for _, _, t in item[1]))
    else:
        ordered = sorted(timings.items())
    for (filename, start_lineno, name), lines in ordered:
        if stripzeros and not any(hits for _, hits, _ in lines):
            continue
        console.print()
        key = (filename, start_lineno, name)
        console.print(_function_table(filename, start_lineno, name, lines, unit, output_unit,
                                      callee_times.get(key, 0),
                                      memory.get(key, {}) if memory else None))
    if summarize:
        console.print()
        for (filename, start_lineno, name), lines in ordered:
            total = sum(t for _, _, t in lines) * unit
            if not stripzeros or total:
                console.print("%6.2f seconds - %s:%s - %s" % (total, filename, start_lineno, name))
