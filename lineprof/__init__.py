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


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError("module 'lineprof' has no attribute %r" % name)
    import importlib
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython):
    """`%load_ext lineprof`: registers the %lprun and %%lprun magics."""
    from lineprof.ipython_magic import register_magics
    register_magics(ipython)


__all__ = ["LineProfiler", "LineStats", "LprofFormatError", "dump_stats", "load_stats",
           "profile", "show_func", "show_text", "__version__"]
