"""`python -m lineprof FILE.lprof ...`: print the report of one or more
profiles, summed. `show` may be given first, as the subcommand it is."""
import argparse
import os
import sys

from lineprof import config
from lineprof.datafile import LprofFormatError
from lineprof.stats import LineStats


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


def add_report_options(parser, default_unit, unit_help):
    """The options of the report that kernprof and the viewer share."""
    parser.add_argument("-u", "--unit", type=positive_float, default=default_unit, help=unit_help)
    parser.add_argument("-z", "--skip-zero", action="store_true",
                        help="hide functions that were never called")
    parser.add_argument("--summarize", action="store_true",
                        help="end the report with one line per function: its total time")
    parser.add_argument("-r", "--rich", action="store_true",
                        help="colour and syntax highlighting with 'rich' when it is installed "
                             "(plain text otherwise, or when the output is not a terminal "
                             "or NO_COLOR is set)")
    parser.add_argument("--top", type=positive_int, metavar="N",
                        help="show only the N lines with the most time, across all functions")
    parser.add_argument("--config", metavar="FILE",
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
        values, _ = config.load(first.config, not first.no_config)
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
                                  summarize=options.summarize)
            return
        sys.stderr.write("lineprof: --rich needs the 'rich' package (pip install rich); "
                         "showing plain text\n")
    stats.print(stream=stream, output_unit=options.unit, stripzeros=options.skip_zero,
                summarize=options.summarize, sort=getattr(options, "sort", False))


def build_parser():
    parser = OneLineErrorParser(prog="python -m lineprof",
                     description="Print the line-by-line report of .lprof files "
                                 "(several files are summed).")
    parser.add_argument("files", nargs="+", metavar="FILE.lprof", help="profile(s) to show")
    add_report_options(parser, None, "unit of the times shown, in seconds (default: the "
                                     "file's, 1e-9)")
    parser.add_argument("--sort", action="store_true",
                        help="order functions by total time")
    return parser


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


def _main(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["show"]:
        argv = argv[1:]
    parser = build_parser()
    if read_config(parser, argv, "lineprof") is None:
        return 2
    options = parser.parse_args(argv)
    try:
        stats = LineStats.from_files(*options.files)
    except LprofFormatError as error:
        sys.stderr.write("lineprof: %s\n" % error)
        return 1
    show_report(stats, options)
    return 0
