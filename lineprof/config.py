"""Defaults for kernprof and the viewer from `[tool.lineprof]` in TOML.

The table is read from the nearest `pyproject.toml` (the current folder, then
its parents), or from the file named with `--config`; `--no-config` reads
none. Keys are the long option names, with dashes or underscores:

    [tool.lineprof]
    line-by-line = true
    view = true
    unit = 1e-3
    skip-zero = true
    prof-mod = ["mypkg.core", "scripts/run.py"]

The command line wins over the file. A key that no lineprof command knows is
an error naming the key; a key that only the other command knows is left to
it (`sort` is the viewer's, `outfile` kernprof's). TOML is read with the
standard library's tomllib (3.11+) or with tomli when it is installed; before
3.11 without tomli a found pyproject.toml is skipped with a notice.
"""
import os
import sys

TABLE = "tool.lineprof"

# Every key of [tool.lineprof], and the type of its value.
KNOWN_KEYS = {
    # kernprof
    "line-by-line": bool, "builtin": bool, "outfile": str, "setup": str, "view": bool,
    "quiet": bool, "no-compensation": bool, "prof-mod": list, "prof-imports": bool,
    "output-interval": float, "no-subprocesses": bool, "keep-parts": bool,
    # both
    "unit": float, "skip-zero": bool, "summarize": bool, "rich": bool, "top": int,
    # the viewer
    "sort": bool,
}


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
    folder = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load(explicit_path=None, enabled=True):
    """The [tool.lineprof] table as {option_dest: value}, and the file it came
    from (None if none). Raises ConfigError for an unusable file or key."""
    if not enabled:
        return {}, None
    path = explicit_path or find_pyproject()
    if path is None:
        return {}, None
    reader = _toml_reader()
    if reader is None:
        if explicit_path:
            raise ConfigError("cannot read %s: reading TOML before Python 3.11 needs "
                              "tomli (pip install 'lineprof[toml]')" % path)
        if _mentions_table(path):
            sys.stderr.write("lineprof: ignoring [tool.lineprof] in %s: reading TOML before "
                             "Python 3.11 needs tomli (pip install 'lineprof[toml]')\n" % path)
        return {}, None
    try:
        with open(path, "rb") as stream:
            document = reader.load(stream)
    except OSError as error:
        raise ConfigError("cannot read %s: %s" % (path, error.strerror or error))
    except ValueError as error:     # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError("%s is not valid TOML: %s" % (path, error))
    table = document.get("tool", {}).get("lineprof")
    if table is None:
        if explicit_path:
            raise ConfigError("%s has no [tool.lineprof] table" % path)
        return {}, None
    if not isinstance(table, dict):
        raise ConfigError("%s: tool.lineprof must be a table" % path)
    return _checked(table, path), path


def _mentions_table(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return "[tool.lineprof" in stream.read()
    except OSError:
        return False


def _checked(table, path):
    values = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        kind = KNOWN_KEYS.get(key)
        if kind is None:
            raise ConfigError("%s: unknown key %r in [tool.lineprof] (known: %s)"
                              % (path, raw_key, ", ".join(sorted(KNOWN_KEYS))))
        if key == "prof-mod" and isinstance(value, str):
            value = [value]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or \
                (kind is list and not all(isinstance(item, str) for item in value)):
            raise ConfigError("%s: [tool.lineprof] %s must be %s" % (path, raw_key, {
                bool: "true or false", str: "a string", float: "a number",
                int: "a whole number", list: "a list of strings"}[kind]))
        if kind in (float, int) and value <= 0:
            raise ConfigError("%s: [tool.lineprof] %s must be positive" % (path, raw_key))
        values[key.replace("-", "_")] = value
    return values
