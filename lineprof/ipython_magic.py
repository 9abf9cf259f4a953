"""The IPython magics %lprun, %%lprun and %%lprun_all, registered by
``%load_ext lineprof``.

    %lprun -f FUNC [-f FUNC2 ...] [-m MODULE ...] [options] statement
    %%lprun -f FUNC [-m MODULE ...] [options]
    cell body
    %%lprun_all [-p] [-t] [options]
    cell body

%lprun runs one statement, %%lprun the cell body, in the user's namespace
with the given functions profiled, then shows the line-by-line report: the
plain-text report in a terminal, an HTML table in Jupyter.

Options:
  -f FUNC    profile FUNC, an expression evaluated in the user's namespace
             (a function, method, class...); may be repeated.
  -m MODULE  import MODULE and profile every function and class defined in
             it; may be repeated.
  -D FILE    also write the profile to FILE (.lprof, for python -m lineprof).
  -T FILE    also write the text report to FILE.
  -r         return the LineProfiler.
  -s, -z     leave out the functions that were never called.
  -u UNIT    show times in UNIT seconds (e.g. 1e-3 for milliseconds; default
             1e-6, as kernprof -v and python -m lineprof show them).
  --memory   also count the bytes each line allocates and frees (the Net and
             Peak columns, as kernprof -l --memory).

%%lprun_all profiles the cell itself, as line_profiler's does: its top-level
code (reported as the function ``<lprof_cell>``) and, unless -p is given,
the functions and methods defined in it. It takes -D, -T, -r, -z, -u and
--memory as above, and:
  -p         profile the top-level code only, not the functions defined in it.
  -t         store the cell's total time in seconds in ``_total_time_taken``
             in the user's namespace.

For %lprun, at least one -f or -m is needed. Options come before the statement, which is
run as written; ``--`` ends the options if the statement itself starts with
a minus sign. Option values may be quoted ("my file.lprof"). If the code
raises SystemExit or KeyboardInterrupt, the profile collected until then is
still shown.
"""
import html
import importlib
import io
import re

from lineprof.profiler import LineProfiler
from lineprof.text_report import _cells, _source_lines

_FLAGS = "rsz"
_VALUED = "fmDTu"
# One argument: a quoted string (quotes dropped later) or a run of non-blanks.
_ARGUMENT = re.compile(r"""\s*("[^"]*"|'[^']*'|\S+)""")


def register_magics(ipython):
    """Registers %lprun and %%lprun with the IPython shell."""
    ipython.register_magics(_make_magics_class())


def _make_magics_class():
    # IPython is imported here, not at the top, so that `import lineprof`
    # does not need it.
    from IPython.core.magic import Magics, line_cell_magic, magics_class

    from IPython.core.magic import cell_magic

    @magics_class
    class LineProfilerMagics(Magics):
        @cell_magic
        def lprun_all(self, line, cell):
            """Profiles the whole cell line by line: its top-level code and the
            functions defined in it (only the top level with -p).

            %%lprun_all [-p] [-t] [-D FILE] [-T FILE] [-r] [-z] [-u UNIT]

            See `lineprof.ipython_magic` for the options."""
            return run_lprun_all(self.shell, line, cell)

        @line_cell_magic
        def lprun(self, line, cell=None):
            """Profiles a statement (%lprun) or a cell (%%lprun) line by line.

            %lprun -f FUNC [-f FUNC ...] [-m MODULE ...] [-D FILE] [-T FILE]
                   [-r] [-s] [-z] [-u UNIT] statement

            See `lineprof.ipython_magic` for the options."""
            return run_lprun(self.shell, line, cell)

    return LineProfilerMagics


def split_options(line, flags=_FLAGS, valued=_VALUED, magic="%lprun"):
    """Splits the magic's line into ({letter: [values]}, statement).

    The statement is the rest of the line exactly as typed: IPython's
    parse_options would re-join it from shell words and so collapse spaces
    inside its string literals."""
    from IPython.core.error import UsageError
    options = {}
    position = 0
    while True:
        match = _ARGUMENT.match(line, position)
        if not match or not match.group(1).startswith("-") or match.group(1) == "-":
            break
        position = match.end()
        if match.group(1) == "--":
            break
        if match.group(1) == "--memory":
            options["memory"] = [True]
            continue
        letters = match.group(1)[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter in flags:
                options.setdefault(letter, []).append(True)
            elif letter in valued:
                if not letters:     # the value is the next argument: -f func
                    value = _ARGUMENT.match(line, position)
                    if not value:
                        raise UsageError("%s: option -%s needs a value" % (magic, letter))
                    letters, position = value.group(1), value.end()
                options.setdefault(letter, []).append(_unquoted(letters))
                letters = ""
            else:
                known = " ".join("-" + name for name in valued + flags) + " --memory"
                raise UsageError("%s: unknown option -%s (options: %s)" % (magic, letter, known))
    return options, line[position:].strip()


def _unquoted(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def run_lprun(shell, line, cell=None):
    """Does the work of %lprun / %%lprun; returns the profiler if -r is given."""
    from IPython.core.error import UsageError

    options, statement = split_options(line)
    if not options.get("f") and not options.get("m"):
        raise UsageError("%lprun: name the functions to profile with -f FUNC or -m MODULE")
    if cell is not None:
        if statement:
            raise UsageError("%%%%lprun: the magic's line takes options only, not %r" % statement)
        source = shell.transform_cell(cell)
        # Cached under a name of its own so that linecache (the report, tracebacks) finds it.
        code = compile(source, shell.compile.cache(source, shell.execution_count), "exec")
    elif statement:
        code = statement
    else:
        raise UsageError("%lprun: no statement to run (usage: %lprun -f FUNC statement)")
    output_unit = _output_unit(options, "%lprun")

    profiler = LineProfiler(memory=bool(options.get("memory")))
    global_ns, local_ns = shell.user_global_ns, shell.user_ns
    for expression in options.get("f", ()):
        try:
            function = eval(expression, global_ns, local_ns)
        except Exception as error:
            raise UsageError("%%lprun: could not evaluate -f %s: %s: %s"
                             % (expression, type(error).__name__, error)) from None
        try:
            if isinstance(function, type):
                profiler.add_class(function)
            else:
                profiler.add_function(function)
        except TypeError as error:
            raise UsageError("%%lprun: -f %s: %s" % (expression, error)) from None
    for module_name in options.get("m", ()):
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise UsageError("%%lprun: could not import -m %s: %s: %s"
                             % (module_name, type(error).__name__, error)) from None
        profiler.add_module(module)

    _run_and_report(profiler, code, shell, options, output_unit, "%lprun")
    return profiler if options.get("r") else None


def _output_unit(options, magic):
    """The -u option's unit, or the default one."""
    from IPython.core.error import UsageError
    from lineprof.cmdline import DEFAULT_UNIT
    if not options.get("u"):
        return DEFAULT_UNIT
    try:
        output_unit = float(options["u"][-1])
    except ValueError:
        output_unit = 0.0
    if not output_unit > 0:
        raise UsageError("%s: -u needs a positive number of seconds, not %r"
                         % (magic, options["u"][-1]))
    return output_unit


def _run_and_report(profiler, code, shell, options, output_unit, magic):
    """Runs code in the user's namespace under profiler, shows the report
    and writes the files of -D and -T; returns the report's stats."""
    from IPython.core.error import UsageError
    from IPython.display import display
    try:
        profiler.runctx(code, shell.user_global_ns, shell.user_ns)
    except (SystemExit, KeyboardInterrupt) as error:
        # The profile up to here is what the user wants to see.
        print("*** %s exception caught in code being profiled." % type(error).__name__)

    report = LineProfileReport(profiler.get_stats(), output_unit=output_unit,
                               stripzeros=bool(options.get("s") or options.get("z")))
    display(report)
    filename = None
    try:
        if options.get("D"):
            filename = options["D"][-1]
            report.stats.to_file(filename)
            print("*** Profile stats pickled to file %r." % filename)
        if options.get("T"):
            filename = options["T"][-1]
            with open(filename, "w", encoding="utf-8") as stream:
                stream.write(report.text())
            print("*** Profile printout saved to text file %r." % filename)
    except OSError as error:
        raise UsageError("%s: could not write %s: %s" % (magic, filename, error)) from None
    return report.stats


# The name of the cell's top-level code in the report, as line_profiler's.
CELL_FUNCTION_NAME = "<lprof_cell>"
_CO_OPTIMIZED = 0x1


def run_lprun_all(shell, line, cell):
    """Does the work of %%lprun_all; returns the profiler if -r is given."""
    from IPython.core.error import UsageError
    options, rest = split_options(line, flags="rzpt", valued="DTu", magic="%%lprun_all")
    if rest:
        raise UsageError("%%%%lprun_all: the magic's line takes options only, not %r" % rest)
    output_unit = _output_unit(options, "%%lprun_all")
    source = shell.transform_cell(cell)
    code = compile(source, shell.compile.cache(source, shell.execution_count), "exec")
    code = code.replace(co_name=CELL_FUNCTION_NAME)
    if hasattr(code, "co_qualname"):
        code = code.replace(co_qualname=CELL_FUNCTION_NAME)
    profiler = LineProfiler(memory=bool(options.get("memory")))
    profiler.add_function(code)
    if not options.get("p"):
        for function in _functions_defined_in(code):
            profiler.add_function(function)
    stats = _run_and_report(profiler, code, shell, options, output_unit, "%%lprun_all")
    if options.get("t"):
        key = next(key for key in stats.timings if key[2] == CELL_FUNCTION_NAME)
        shell.user_ns["_total_time_taken"] = stats.total_time(key)
    return profiler if options.get("r") else None


def _functions_defined_in(code):
    """The code objects of the functions and methods that code defines, at
    any depth (inside classes and other functions); not lambdas or
    comprehensions, which have no statements of their own to profile."""
    for constant in code.co_consts:
        if isinstance(constant, type(code)):
            if constant.co_flags & _CO_OPTIMIZED and not constant.co_name.startswith("<"):
                yield constant
            yield from _functions_defined_in(constant)


class LineProfileReport:
    """A profile as IPython displays it: the text report in a terminal
    (repr), an HTML table in a notebook (_repr_html_)."""

    def __init__(self, stats, output_unit=None, stripzeros=False):
        self.stats = stats
        self.output_unit = output_unit
        self.stripzeros = stripzeros

    def text(self):
        """The report exactly as LineProfiler.print_stats writes it."""
        stream = io.StringIO()
        self.stats.print(stream=stream, output_unit=self.output_unit, stripzeros=self.stripzeros)
        return stream.getvalue()

    def __repr__(self):
        return self.text()

    def _repr_pretty_(self, printer, cycle):
        # IPython ends the display with a newline of its own.
        printer.text(self.text().rstrip("\n"))

    def _repr_html_(self):
        unit = self.stats.unit
        output_unit = self.output_unit or unit
        parts = ['<div class="lineprof-report">',
                 "<p>Timer unit: %s s</p>" % html.escape("%g" % output_unit)]
        for (filename, first_lineno, name), timings in sorted(self.stats.timings.items()):
            if self.stripzeros and not any(hits for _, hits, _ in timings):
                continue
            memory = self.stats.memory.get((filename, first_lineno, name), {}) \
                if self.stats.memory else None
            parts.append(_function_html(filename, first_lineno, name, timings, unit,
                                        unit / output_unit, memory))
        parts.append("</div>")
        return "\n".join(parts)


_CELL = '<td style="text-align:right;padding:0 0.5em">%s</td>'
_CODE_CELL = ('<td style="text-align:left;padding:0 0.5em">'
              '<pre style="margin:0;background:none"><code>%s</code></pre></td>')


def _function_html(filename, first_lineno, name, timings, unit, scalar, memory=None):
    """One function's heading and table (with Net and Peak columns when
    memory, the function's LineStats.memory, is given)."""
    total_time = sum(time for _, _, time in timings)
    heading = ("<h4>%s</h4>\n<p>File: <code>%s</code>, line %d &mdash; total time: %g s</p>"
               % (html.escape(name), html.escape(filename), first_lineno, total_time * unit))
    source = _source_lines(filename, first_lineno, timings)
    if source is None:
        heading += "\n<p>Source not found; only the profiled lines are listed.</p>"
        numbered = [(lineno, "") for lineno, _, _ in timings]
    else:
        numbered = list(enumerate(source, first_lineno))
    cells = _cells(timings, scalar, total_time)
    titles = ("Line #", "Hits", "Time", "Per Hit", "% Time")
    if memory is not None:
        from lineprof.memory import line_cells
        memory_cells = line_cells(memory)
        titles += ("Net", "Peak")
    header = "".join('<th style="text-align:%s;padding:0 0.5em">%s</th>'
                     % ("left" if title == "Line Contents" else "right", title)
                     for title in titles + ("Line Contents",))
    rows = ["<tr>%s</tr>" % header]
    for lineno, line in numbered:
        numbers = (str(lineno),) + cells.get(lineno, ("", "", "", ""))
        if memory is not None:
            numbers += memory_cells.get(lineno, ("", ""))
        rows.append("<tr>%s%s</tr>" % ("".join(_CELL % number.strip() for number in numbers),
                                       _CODE_CELL % html.escape(line.rstrip("\r\n"))))
    table = '<table style="border-collapse:collapse;font-family:monospace">\n%s\n</table>' % (
        "\n".join(rows))
    return heading + "\n" + table
