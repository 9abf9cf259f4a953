"""`python -m lineprof FILE.lprof ...`: print the report of one or more
profiles, summed. `show` may be given first, as the subcommand it is."""
import argparse
import os
import sys

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


def add_report_options(parser, default_unit, unit_help):
    """The options of the report that kernprof and the viewer share."""
    parser.add_argument("-u", "--unit", type=positive_float, default=default_unit, help=unit_help)
    parser.add_argument("-z", "--skip-zero", action="store_true",
                        help="hide functions that were never called")
    parser.add_argument("--summarize", action="store_true",
                        help="end the report with one line per function: its total time")


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
    options = build_parser().parse_args(argv)
    try:
        stats = LineStats.from_files(*options.files)
    except LprofFormatError as error:
        sys.stderr.write("lineprof: %s\n" % error)
        return 1
    stats.print(output_unit=options.unit, stripzeros=options.skip_zero,
                summarize=options.summarize, sort=options.sort)
    return 0
