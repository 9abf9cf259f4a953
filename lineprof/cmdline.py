"""`python -m lineprof FILE.lprof ...`: print the report of one or more
profiles, summed. `show` may be given first, as the subcommand it is."""
import argparse
import os
import sys

from lineprof import ExtensionNotBuilt, config
from lineprof.datafile import LprofFormatError
from lineprof.stats import LineStats


# The unit of the times shown, unless -u says otherwise: line_profiler's
# (microseconds), in kernprof -v, the viewer and %lprun alike.
DEFAULT_UNIT = 1e-6


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, "NAME: what is wrong",
    not argparse's usage block; exit status 2. NAME is error_prefix."""

    error_prefix = "lineprof"

    def error(self, message):
        self.exit(2, "%s: %s (see '%s --help')\n" % (self.error_prefix, message, self.prog))


def positive_float(text):
    """argparse type: a number of seconds greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive: %r" % text)
    return value


def positive_int(text):
    """argparse type: a whole number greater than zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a whole number: %r" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be positive: %r" % text)
    return value


def add_report_options(parser, default_unit, unit_help, viewer=False):
    """The options of the report that kernprof and the viewer share; the
    viewer also has line_profiler's viewer's short flags -m and -c (kernprof's
    -m names a module, its -c code)."""
    parser.add_argument("-u", "--unit", type=positive_float, default=default_unit, help=unit_help)
    parser.add_argument("-z", "--skip-zero", action="store_true",
                        help="hide functions that were never called")
    parser.add_argument(*(("-m", "--summarize") if viewer else ("--summarize",)),
                        action="store_true",
                        help="end the report with one line per function: its total time")
    parser.add_argument("-r", "--rich", action="store_true",
                        help="colour and syntax highlighting with 'rich' when it is installed "
                             "(plain text otherwise, or when the output is not a terminal "
                             "or NO_COLOR is set)")
    parser.add_argument("--top", type=positive_int, metavar="N",
                        help="show only the N lines with the most time, across all functions")
    parser.add_argument(*(("-c", "--config") if viewer else ("--config",)), metavar="FILE",
                        help="read defaults from [tool.lineprof] in this TOML file "
                             "(default: the nearest pyproject.toml)")
    parser.add_argument("--no-config", action="store_true",
                        help="read no configuration file")


def read_config(parser, argv, prefix):
    """Sets the parser's defaults from [tool.lineprof] (the file of --config,
    or the nearest pyproject.toml, or none with --no-config); returns the
    values read, or None after printing a one-line error."""
    first = parser.parse_args(argv)      # what --config and --no-config say
    try:
        values, _ = config.load(first.config, not first.no_config,
                                command="kernprof" if prefix == "kernprof" else "show")
    except config.ConfigError as error:
        sys.stderr.write("%s: %s\n" % (prefix, error))
        return None
    dests = {action.dest for action in parser._actions}
    parser.set_defaults(**{dest: value for dest, value in values.items() if dest in dests})
    return values


def show_report(stats, options, stream=None):
    """Prints stats as the options ask: the lines of --top, the rich report
    of -r, or the text report."""
    if options.top:
        from lineprof.top_report import show_top
        show_top(stats.timings, stats.unit, options.top, output_unit=options.unit, stream=stream)
        return
    if options.rich:
        from lineprof import rich_report
        if rich_report.available():
            rich_report.show_rich(stats.timings, stats.unit, output_unit=options.unit,
                                  stream=stream, stripzeros=options.skip_zero,
                                  sort=getattr(options, "sort", False),
                                  summarize=options.summarize, edges=stats.edges,
                                  memory=stats.memory)
            return
        sys.stderr.write("lineprof: --rich needs the 'rich' package (pip install rich); "
                         "showing plain text\n")
    stats.print(stream=stream, output_unit=options.unit, stripzeros=options.skip_zero,
                summarize=options.summarize, sort=getattr(options, "sort", False))


def _parser(command, description, what, outfile_help=None, outfile_required=False):
    """A command's parser: its files and, for the commands that write one,
    -o/--outfile."""
    parser = OneLineErrorParser(prog="python -m lineprof " + command, description=description)
    parser.add_argument("files", nargs="+", metavar="FILE.lprof",
                        help="profile(s) to %s; several are summed (see 'merge'); a folder "
                             "stands for the .lprof files in it" % what)
    if outfile_help:
        parser.add_argument("-o", "--outfile", required=outfile_required, metavar="PATH",
                            help=outfile_help)
    return parser


def _show_parser():
    # On/off options as line_profiler 5's viewer takes them (-r, --rich,
    # --rich off, --no-rich), so that a [tool.lineprof] default can be turned
    # off from the command line.
    from lineprof.flags import FlagMaker, add_flag
    parser = _parser("show", "Print the line-by-line report of .lprof files (several files "
                             "are summed).", "show")
    parser.flag_options = set()
    add_report_options(FlagMaker(parser), DEFAULT_UNIT, "unit of the times shown, in seconds "
                                                        "(default: 1e-6)", viewer=True)
    add_flag(parser, "-t", "--sort", help="order functions by total time")
    return parser


def _html_parser():
    parser = _parser("html", "Write a static HTML report (no network needed to view it): an "
                             "index of the functions and a page of source with per-line heat "
                             "bars for each.", "report",
                     "folder to write the report into (default: lineprof_html)")
    parser.add_argument("--title", help="the report's title")
    parser.add_argument("-u", "--unit", type=positive_float,
                        help="unit of the line times shown, in seconds (default: 1e-6)")
    return parser


def _callgrind_parser():
    return _parser("callgrind", "Export in the callgrind format, per line (time in ns, hits), "
                                "for KCacheGrind/QCacheGrind and callgrind_annotate.", "export",
                   "output file (default: callgrind.out.<first file's name>)")


def _pstats_parser():
    return _parser("pstats", "Export per-function totals in the pstats format, for "
                             "pstats.Stats, snakeviz and gprof2dot.", "export",
                   "output file (default: <first file's name>.prof)")


def _json_parser():
    return _parser("json", "Export as JSON (a documented, versioned schema: "
                           "lineprof/json_schema.json).", "export",
                   "output file (default: standard output)")


def _convert_parser():
    parser = _parser("convert", "Write the profile in another tool's format: --to "
                                "line_profiler writes a file that line_profiler's viewer "
                                "(python -m line_profiler) opens; --to lineprof writes "
                                "lineprof's own format (from line_profiler's files).", "convert",
                     "output file (default: <first file's name>.line_profiler.lprof, "
                     "or .lineprof.lprof)")
    parser.add_argument("--to", required=True, choices=("line_profiler", "lineprof"),
                        help="the format to write")
    return parser


def _merge_parser():
    return _parser("merge", "Sum profiles into one .lprof: hits and times of the same line "
                            "of the same function add up, units are converted, and a function "
                            "whose source changed between runs is kept apart.", "merge",
                   "the merged .lprof to write", outfile_required=True)


def expand_folders(paths):
    """Each folder among paths stands for the .lprof files in it (the parts
    that the processes of a job wrote into LINEPROF_DIR), in name order."""
    files = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found = sorted(os.path.join(path, name) for name in os.listdir(path)
                       if name.endswith(".lprof") and not name.startswith("."))
        if not found:
            raise LprofFormatError("%s: a folder without .lprof files" % path)
        files.extend(found)
    return files


def _stem(path):
    name = os.path.basename(path)
    return name[:-len(".lprof")] if name.endswith(".lprof") else name


def _run_show(stats, options):
    show_report(stats, options)
    _say_if_empty(stats, options)


def _say_if_empty(stats, options):
    """One line on stderr when what was read holds nothing to show or export
    (the report or file is still made)."""
    if not stats.timings:
        sys.stderr.write("lineprof: %s holds no profiled function: the run that wrote it "
                         "profiled nothing\n" % _files_text(options.files))
    elif not any(hits for lines in stats.timings.values() for _, hits, _ in lines):
        sys.stderr.write("lineprof: no profiled function ran in the run that wrote %s\n"
                         % _files_text(options.files))


def _files_text(files):
    return files[0] if len(files) == 1 else "these %d files" % len(files)


def _run_html(stats, options):
    from lineprof.html_report import write_html
    index = write_html(stats, options.outfile or "lineprof_html", title=options.title,
                       output_unit=options.unit)
    print("Wrote the HTML report to %s" % index)
    _say_if_empty(stats, options)


def _run_callgrind(stats, options):
    from lineprof.callgrind_export import write_callgrind
    outfile = options.outfile or "callgrind.out.%s" % _stem(options.files[0])
    write_callgrind(stats, outfile)
    print("Wrote %s" % outfile)
    _say_if_empty(stats, options)


def _run_pstats(stats, options):
    from lineprof.pstats_export import write_pstats
    outfile = options.outfile or "%s.prof" % _stem(options.files[0])
    write_pstats(stats, outfile)
    print("Wrote %s" % outfile)
    _say_if_empty(stats, options)


def _run_json(stats, options):
    from lineprof.json_export import write_json
    if options.outfile is None:
        write_json(stats, sys.stdout)
        return
    import io
    from lineprof.datafile import write_atomically
    buffer = io.StringIO()
    write_json(stats, buffer)
    write_atomically(options.outfile, buffer.getvalue().encode("utf-8"))


def _run_convert(stats, options):
    outfile = options.outfile or "%s.%s.lprof" % (_stem(options.files[0]), options.to)
    if options.to == "line_profiler":
        from lineprof.line_profiler_export import write_line_profiler
        write_line_profiler(stats, outfile)
    else:
        stats.to_file(outfile)
    print("Wrote %s" % outfile)
    _say_if_empty(stats, options)


def _run_merge(stats, options):
    stats.metadata = dict(stats.metadata, merged_from=[os.path.abspath(path)
                                                       for path in options.files])
    stats.to_file(options.outfile)
    print("Merged %d file%s into %s" % (len(options.files), "" if len(options.files) == 1
                                         else "s", options.outfile))


# name: (parser, action, one line for the overview)
COMMANDS = {
    "show": (_show_parser, _run_show, "print the line-by-line report (the default)"),
    "html": (_html_parser, _run_html, "write a static HTML report"),
    "callgrind": (_callgrind_parser, _run_callgrind, "export for KCacheGrind/QCacheGrind"),
    "pstats": (_pstats_parser, _run_pstats,
               "export per-function totals and calls for pstats/snakeviz/gprof2dot"),
    "json": (_json_parser, _run_json, "export as JSON"),
    "merge": (_merge_parser, _run_merge, "sum profiles into one .lprof"),
    "convert": (_convert_parser, _run_convert,
                "write line_profiler's .lprof format (--to line_profiler), or lineprof's"),
    # Dispatched in _main before the parsing of .lprof files.
    "attach": (None, None, "profile functions of a running process (3.14+): attach PID -f "
                           "module:function"),
}

OVERVIEW = """usage: python -m lineprof [COMMAND] FILE.lprof [FILE.lprof ...] [options]

Commands (each has --help):
%s

Without a command, the files are shown (as 'show' does).
'kernprof ARGS...' runs lineprof's kernprof (the same as the kernprof command).
-V, --version prints lineprof's version.
""" % "\n".join("  %-10s %s" % (name, line) for name, (_, _, line) in COMMANDS.items())


def silence_stdout():
    """After a BrokenPipeError (the reader went away, as in `... | head`):
    points stdout at /dev/null so that the interpreter's last flush of the
    closed pipe prints no traceback."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv=None):
    try:
        return _main(argv)
    except BrokenPipeError:
        silence_stdout()
        return 1
    except ExtensionNotBuilt as error:
        sys.stderr.write("lineprof: %s\n" % error)
        return 1


def _main(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(OVERVIEW)
        return 0
    if argv[:1] == ["kernprof"]:
        # lineprof's kernprof by a name that line_profiler, installed beside
        # it, cannot take: `lineprof kernprof -l -v script.py`.
        from lineprof.kernprof import run_command
        return run_command(argv[1:])
    if argv[:1] == ["attach"]:
        # Takes a PID, not .lprof files (lineprof.attach, 3.14+).
        from lineprof.attach import run_command as run_attach
        return run_attach(argv[1:])
    if argv[:1] in (["-V"], ["--version"]):
        from lineprof import __version__
        sys.stdout.write("lineprof %s\n" % __version__)
        return 0
    if not argv:
        sys.stderr.write("lineprof: no profile given (see 'python -m lineprof --help')\n")
        return 2
    name = argv[0] if argv[0] in COMMANDS else "show"
    if argv[0] in COMMANDS:
        argv = argv[1:]
    make_parser, action, _ = COMMANDS[name]
    parser = make_parser()
    if hasattr(parser, "flag_options"):
        from lineprof.flags import join_flag_values
        argv = join_flag_values(argv, parser, program_ends_options=False)
    # [tool.lineprof] holds report options: only 'show' takes them.
    if name == "show" and read_config(parser, argv, "lineprof") is None:
        return 2
    options = parser.parse_args(argv)
    try:
        options.files = expand_folders(options.files)
        stats = LineStats.from_files(*options.files)
    except LprofFormatError as error:
        sys.stderr.write("lineprof: %s\n" % error)
        return 1
    for (filename, lineno, function), (_, _, apart) in stats.changed_sources:
        sys.stderr.write("lineprof: %s (%s:%d) changed between runs; kept apart as %r\n"
                         % (function, filename, lineno, apart))
    try:
        action(stats, options)
    except BrokenPipeError:
        raise                       # the reader went away: main() ends quietly
    except OSError as error:
        sys.stderr.write("lineprof: cannot write %s: %s\n" % (
            getattr(options, "outfile", None) or error.filename, error.strerror or error))
        return 1
    return 0
