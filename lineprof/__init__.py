"""lineprof: a deterministic line-by-line profiler for CPython, with its
tracer written in C. A drop-in for line_profiler's API and kernprof."""
from lineprof.datafile import LprofFormatError, dump_stats, load_stats
from lineprof.explicit import profile
from lineprof.profiler import LineProfiler
from lineprof.stats import LineStats
from lineprof.text_report import show_func, show_text

__version__ = "0.1.0"


def load_ipython_extension(ipython):
    """`%load_ext lineprof`: registers the %lprun and %%lprun magics."""
    from lineprof.ipython_magic import register_magics
    register_magics(ipython)


__all__ = ["LineProfiler", "LineStats", "LprofFormatError", "dump_stats", "load_stats",
           "profile", "show_func", "show_text", "__version__"]
