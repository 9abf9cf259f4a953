"""On/off options as line_profiler 5's command lines take them: `--rich`,
`--rich off`, `--rich=yes`, `--no-rich` (kernprof and the viewer)."""
import argparse

TRUE_WORDS = ("yes", "y", "true", "t", "on", "1")
FALSE_WORDS = ("no", "n", "false", "f", "off", "0")
FLAG_METAVAR = "yes|no"


def boolean(text):
    """argparse type: the value of an on/off option (--rich off), as
    line_profiler 5's kernprof reads it: yes/no, y/n, true/false, t/f,
    on/off, 1/0, in any case."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError("not yes or no: %r (give one of %s)"
                                     % (text, "/".join(TRUE_WORDS + FALSE_WORDS)))


def _negated(text):
    return not boolean(text)


_negated.__name__ = "boolean"     # named in argparse's "invalid ... value" errors


def add_flag(parser, *flags, **kwargs):
    """An on/off option: the short flag (-l) switches it on and bundles
    (-lv); the long one (--line-by-line) also takes a value (--line-by-line
    no, --rich=off); its complement (--no-line-by-line; --compensation for
    --no-compensation) switches it off, so that one default from
    [tool.lineprof] can be turned off from the command line."""
    kwargs.pop("action", None)
    help_text = kwargs.pop("help", None)
    shorts = [flag for flag in flags if not flag.startswith("--")]
    longs = [flag for flag in flags if flag.startswith("--")]
    dest = kwargs.pop("dest", None) or longs[0][2:].replace("-", "_")
    if shorts:
        parser.add_argument(*shorts, dest=dest, action="store_const", const=True,
                            help=argparse.SUPPRESS)
    if shorts and help_text:
        help_text += " (short: %s)" % ", ".join(shorts)
    parser.add_argument(*longs, dest=dest, nargs="?", const=True, type=boolean,
                        metavar=FLAG_METAVAR, help=help_text, **kwargs)
    complements = ["--" + flag[len("--no-"):] if flag.startswith("--no-") else
                   "--no-" + flag[2:] for flag in longs]
    parser.add_argument(*complements, dest=dest, nargs="?", const=False, type=_negated,
                        metavar=FLAG_METAVAR, help=argparse.SUPPRESS, **kwargs)
    parser.flag_options.update(longs + complements)


class FlagMaker:
    """Hands the on/off options of add_report_options (lineprof.cmdline) to
    add_flag; the others (and --no-config, whose complement would be
    --config FILE) go to the parser as they are."""

    def __init__(self, parser):
        self.parser = parser

    def add_argument(self, *flags, **kwargs):
        if kwargs.get("action") == "store_true" and "--no-config" not in flags:
            return add_flag(self.parser, *flags, **kwargs)
        return self.parser.add_argument(*flags, **kwargs)


def join_flag_values(argv, parser, program_ends_options):
    """`--rich off` becomes `--rich=off`, and a bare `--rich` before a
    positional argument `--rich=yes`, so that an on/off option never takes a
    script or a file for its value. With program_ends_options (kernprof), the
    options end where the program starts: its arguments are left as they
    are."""
    takes_value = {flag for action in parser._actions for flag in action.option_strings
                   if action.nargs is None}
    result = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        result.append(arg)
        index += 1
        if arg == "--" or (program_ends_options
                           and (arg in ("-m", "-c", "-") or not arg.startswith("-"))):
            break
        if arg in parser.flag_options:
            following = argv[index] if index < len(argv) else None
            if following is not None and following.strip().lower() in TRUE_WORDS + FALSE_WORDS:
                result[-1] = "%s=%s" % (arg, following)
                index += 1
            elif following is not None and not following.startswith("-"):
                result[-1] = arg + "=yes"
        elif arg in takes_value or (arg.startswith("-") and not arg.startswith("--")
                                    and "-" + arg[-1:] in takes_value):
            if index < len(argv):
                result.append(argv[index])
                index += 1
    return result + argv[index:]
