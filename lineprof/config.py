"""Defaults for kernprof and the viewer from `[tool.lineprof]` in TOML, and
from line_profiler's tables, so that a configuration written for
line_profiler 5 keeps working.

The file is the one named with `--config`, else the one `LINE_PROFILER_RC`
names (line_profiler's variable), else the nearest `line_profiler.toml` or
`pyproject.toml` (the current folder, then its parents; in one folder
`line_profiler.toml` first, as line_profiler looks); `--no-config` reads none.
Keys are the long option names, with dashes or underscores:

    [tool.lineprof]
    line-by-line = true
    view = true
    unit = 1e-3
    skip-zero = true
    prof-mod = ["mypkg.core", "scripts/run.py"]

line_profiler's tables are read too: `[tool.line_profiler.kernprof]` for
kernprof and `[tool.line_profiler.cli]` for the viewer (their keys are the
same long option names; `verbose` is kernprof's -v count, `outfile = ""`,
`setup = ""` and `output-interval = 0` mean "not set"). Where both name an
option, `[tool.lineprof]` wins. `[tool.line_profiler.setup]` and
`[tool.line_profiler.write]` configure `lineprof.profile` (explicit_settings).

The command line wins over the file. A key that no lineprof command knows is
an error naming the key; a key that only the other command knows is left to
it (`sort` is the viewer's, `outfile` kernprof's). TOML is read with the
standard library's tomllib (3.11+) or with tomli when it is installed; before
3.11 without tomli a found pyproject.toml is skipped with a notice.
"""
import os
import sys

TABLE = "tool.lineprof"
# The files looked for in each folder, in order.
CANDIDATES = ("line_profiler.toml", "pyproject.toml")
RC_VARIABLE = "LINE_PROFILER_RC"

# Every key of [tool.lineprof], and the type of its value.
KNOWN_KEYS = {
    # kernprof
    "line-by-line": bool, "builtin": bool, "outfile": str, "setup": str, "view": bool,
    "quiet": bool, "no-compensation": bool, "prof-mod": list, "prof-imports": bool,
    "output-interval": float, "no-subprocesses": bool, "keep-parts": bool, "preimports": bool,
    "memory": bool,
    # both
    "unit": float, "skip-zero": bool, "summarize": bool, "rich": bool, "top": int,
    # the viewer
    "sort": bool,
}

# The keys of line_profiler 5's tables for each command ("show" is the
# viewer), and their types; the values they have in its default file that
# mean "not set" are dropped.
LINE_PROFILER_KEYS = {
    "kernprof": {
        "line-by-line": bool, "builtin": bool, "rich": bool, "skip-zero": bool,
        "summarize": bool, "preimports": bool, "prof-imports": bool, "verbose": int,
        "outfile": str, "setup": str, "unit": float, "output-interval": float,
        "prof-mod": list,
    },
    "show": {"unit": float, "rich": bool, "skip-zero": bool, "sort": bool, "summarize": bool},
}
LINE_PROFILER_TABLES = {"kernprof": "kernprof", "show": "cli"}
_NOT_SET = {"outfile": "", "setup": "", "output-interval": 0}


class ConfigError(Exception):
    """A configuration file that cannot be used: reported as one line."""


def _toml_reader():
    try:
        import tomllib
        return tomllib
    except ImportError:
        try:
            import tomli
            return tomli
        except ImportError:
            return None


def find_pyproject(start=None):
    """The nearest configuration file: line_profiler.toml or pyproject.toml."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        for name in CANDIDATES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load(explicit_path=None, enabled=True, command=None):
    """The defaults of command ("kernprof" or "show"; None: [tool.lineprof]
    only) as {option_dest: value}, and the file they came from (None if
    none). Raises ConfigError for an unusable file or key."""
    if not enabled:
        return {}, None
    explicit_path = explicit_path or os.environ.get(RC_VARIABLE) or None
    path = explicit_path or find_pyproject()
    if path is None:
        return {}, None
    document = _read(path, explicit_path is not None)
    if document is None:
        return {}, None
    tool = document.get("tool", {})
    table = tool.get("lineprof") if isinstance(tool, dict) else None
    theirs = tool.get("line_profiler") if isinstance(tool, dict) else None
    if table is None and theirs is None:
        if explicit_path:
            raise ConfigError("%s has no [tool.lineprof] or [tool.line_profiler] table" % path)
        return {}, None
    values = {}
    if command in LINE_PROFILER_TABLES and isinstance(theirs, dict):
        name = LINE_PROFILER_TABLES[command]
        their_table = theirs.get(name, {})
        if not isinstance(their_table, dict):
            raise ConfigError("%s: tool.line_profiler.%s must be a table" % (path, name))
        values.update(_checked(their_table, path, "tool.line_profiler." + name,
                               LINE_PROFILER_KEYS[command]))
    if table is not None:
        if not isinstance(table, dict):
            raise ConfigError("%s: tool.lineprof must be a table" % path)
        values.update(_checked(table, path))
    return values, path


# line_profiler 5's [tool.line_profiler.show]: how lineprof.profile prints
# at exit, and its column_widths subtable: the least width of each column of
# the text report (wider values widen it; narrower ones are ignored).
SHOW_DEFAULTS = {"sort": True, "stripzeros": True, "rich": True, "details": False,
                 "summarize": True}
COLUMN_WIDTHS = {"line": 6, "hits": 9, "time": 12, "perhit": 8, "percent": 8}


def explicit_settings():
    """What lineprof.profile reads from line_profiler's [tool.line_profiler.setup],
    [tool.line_profiler.write] and [tool.line_profiler.show] tables
    (LINE_PROFILER_RC or the nearest file), over line_profiler's defaults; a
    file that cannot be read leaves the defaults, with a notice. "show" holds
    the print options and "column_widths" the widths, in the order of the
    report's columns."""
    settings = {
        "environ_flags": ["LINEPROF", "LINE_PROFILE"],
        "cli_flags": ["--line-profile", "--line_profile"],
        "output_prefix": "profile_output",
        "lprof": True, "text": True, "timestamped_text": True, "stdout": True,
        "show": dict(SHOW_DEFAULTS), "column_widths": tuple(COLUMN_WIDTHS.values()),
    }
    explicit_path = os.environ.get(RC_VARIABLE) or None
    path = explicit_path or find_pyproject()
    # Read at a program's first @profile even when profiling stays off: a
    # file without line_profiler's tables is not parsed (nor TOML imported).
    if path is not None and explicit_path is None and \
            "line_profiler" not in _text(path):
        path = None
    try:
        document = _read(path, explicit_path is not None) if path else None
    except ConfigError as error:
        sys.stderr.write("lineprof: %s\n" % error)
        return settings
    theirs = (document or {}).get("tool", {}).get("line_profiler", {})
    for name in ("setup", "write", "show"):
        table = theirs.get(name, {}) if isinstance(theirs, dict) else {}
        target = settings["show"] if name == "show" else settings
        for key, value in (table.items() if isinstance(table, dict) else ()):
            if key in target and type(value) is type(target[key]):
                target[key] = value
    show = theirs.get("show", {}) if isinstance(theirs, dict) else {}
    widths = show.get("column_widths", {}) if isinstance(show, dict) else {}
    if isinstance(widths, dict):
        settings["column_widths"] = tuple(
            max(least, widths[name]) if type(widths.get(name)) is int else least
            for name, least in COLUMN_WIDTHS.items())
    # lineprof's own variable switches it on whatever the file says.
    if "LINEPROF" not in settings["environ_flags"]:
        settings["environ_flags"] = ["LINEPROF"] + list(settings["environ_flags"])
    return settings


def _read(path, explicit):
    """The TOML document of path; None where no TOML reader is installed
    (with a notice if the file has a table for us)."""
    reader = _toml_reader()
    if reader is None:
        if explicit:
            raise ConfigError("cannot read %s: reading TOML before Python 3.11 needs "
                              "tomli (pip install 'lineprof[toml]')" % path)
        if _mentions_table(path):
            sys.stderr.write("lineprof: ignoring the configuration in %s: reading TOML before "
                             "Python 3.11 needs tomli (pip install 'lineprof[toml]')\n" % path)
        return None
    try:
        with open(path, "rb") as stream:
            document = reader.load(stream)
    except OSError as error:
        raise ConfigError("cannot read %s: %s" % (path, error.strerror or error))
    except ValueError as error:     # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError("%s is not valid TOML: %s" % (path, error))
    return document


def _text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read()
    except OSError:
        return ""


def _mentions_table(path):
    text = _text(path)
    return "[tool.lineprof" in text or "[tool.line_profiler" in text


def _checked(table, path, table_name=TABLE, known_keys=KNOWN_KEYS):
    values = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        kind = known_keys.get(key)
        if kind is None:
            raise ConfigError("%s: unknown key %r in [%s] (known: %s)"
                              % (path, raw_key, table_name, ", ".join(sorted(known_keys))))
        if table_name != TABLE and _NOT_SET.get(key, object()) == value:
            continue
        if key == "prof-mod" and isinstance(value, str):
            value = [value]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or \
                (kind is list and not all(isinstance(item, str) for item in value)):
            raise ConfigError("%s: [%s] %s must be %s" % (path, table_name, raw_key, {
                bool: "true or false", str: "a string", float: "a number",
                int: "a whole number", list: "a list of strings"}[kind]))
        if kind in (float, int) and value <= 0 and key != "verbose":
            raise ConfigError("%s: [%s] %s must be positive" % (path, table_name, raw_key))
        if key == "verbose":        # line_profiler's -v count: kernprof's -v and -q
            values["view"], values["quiet"] = value > 0, value < 0
        values[key.replace("-", "_")] = value
    return values
