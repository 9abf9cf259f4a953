"""lineprof: a deterministic line-by-line profiler for CPython, with its
tracer written in C. A drop-in for line_profiler's API and kernprof."""
from lineprof.explicit import profile

__version__ = "0.1.0"

# The rest is imported when first used: every Python process of a profiled
# job imports lineprof as it starts, and should pay only for what it uses.
_LAZY = {
    "LineProfiler": "lineprof.profiler",
    "LineStats": "lineprof.stats",
    "LprofFormatError": "lineprof.datafile",
    "dump_stats": "lineprof.datafile",
    "load_stats": "lineprof.datafile",
    "show_func": "lineprof.text_report",
    "show_text": "lineprof.text_report",
}


class ExtensionNotBuilt(ImportError):
    """lineprof's C extension (lineprof._tracer) is not there: lineprof is
    imported from a source folder in which it was never built. str() is one
    line that says what to do."""


def _import_tracer():
    """Imports lineprof._tracer for `from lineprof import _tracer`. In a
    source folder without the built extension, the folder of its C sources,
    lineprof/_tracer/, would be imported as an empty namespace package (and
    fail later, far from the cause): that is refused with ExtensionNotBuilt."""
    import importlib
    import os
    import sys
    module = importlib.import_module("lineprof._tracer")
    if getattr(module, "__file__", None) is None:      # the sources' folder
        sys.modules.pop("lineprof._tracer", None)
        globals().pop("_tracer", None)
        folder = __path__[0]
        raise ExtensionNotBuilt(
            "the C extension is not built in this source folder (%s): run `pip install -e .` "
            "or `python setup.py build_ext --inplace` in %s, or run from another folder"
            % (folder, os.path.dirname(folder) or "."))
    return module


def __getattr__(name):
    if name == "_tracer":
        return _import_tracer()
    if name not in _LAZY:
        raise AttributeError("module 'lineprof' has no attribute %r" % name)
    import importlib
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def dump_on_signal(signum="SIGUSR1"):
    """On signum (a number or a name), the process writes its profile so far
    where it writes it at exit, atomically, and goes on: `profile`'s
    dump_on_signal, as LINEPROF_DUMP_SIGNAL does. Call it from the main
    thread."""
    profile.dump_on_signal(signum)


def load_ipython_extension(ipython):
    """`%load_ext lineprof`: registers the %lprun and %%lprun magics."""
    from lineprof.ipython_magic import register_magics
    register_magics(ipython)


__all__ = ["LineProfiler", "LineStats", "LprofFormatError", "dump_on_signal", "dump_stats",
           "load_stats", "profile", "show_func", "show_text", "__version__"]
