"""`from lineprof import profile`: a decorator that is free unless asked for.

Functions decorated with it run untouched, unless profiling is on:
- under kernprof, which hands this object its profiler, or
- when the environment variable LINEPROF=1 (or line_profiler's LINE_PROFILE=1)
  is set as the program starts under plain `python`. Then the decorated
  functions are profiled and, at exit, the profile is written to
  profile_output.lprof and a text report to profile_output.txt in the current
  folder (line_profiler's names), and a summary and the paths are printed.
"""
import atexit
import os
import sys

OUTPUT_STEM = "profile_output"
_TRUE = ("1", "true", "yes", "on")


def _wanted_by_environment():
    return any(os.environ.get(name, "").strip().lower() in _TRUE
               for name in ("LINEPROF", "LINE_PROFILE"))


class GlobalProfiler:
    """The object behind lineprof.profile."""

    def __init__(self):
        self._profiler = None
        self._decided = False
        self._writes_at_exit = False

    @property
    def enabled(self):
        self._decide()
        return self._profiler is not None

    def _decide(self):
        if self._decided:
            return
        self._decided = True
        if self._profiler is None and _wanted_by_environment():
            from lineprof.profiler import LineProfiler
            self._profiler = LineProfiler()
            self._writes_at_exit = True
            atexit.register(self._write_at_exit)

    def attach(self, profiler):
        """Makes the decorator use profiler (kernprof does this); None detaches."""
        self._profiler = profiler
        self._decided = True

    def __call__(self, func):
        self._decide()
        if self._profiler is None:
            return func
        return self._profiler(func)

    def _write_at_exit(self):
        from lineprof.datafile import dump_stats
        stats = self._profiler.get_stats()
        lprof_path = os.path.abspath(OUTPUT_STEM + ".lprof")
        text_path = os.path.abspath(OUTPUT_STEM + ".txt")
        try:
            dump_stats(stats, lprof_path)
            with open(text_path, "w") as stream:
                stats.print(stream=stream, output_unit=1e-6)
        except OSError as error:
            sys.stderr.write("lineprof: could not write the profile: %s\n" % error)
            stats.print(summarize=True, output_unit=1e-6)
            return
        stats.print(details=False, summarize=True)
        print("Wrote profile results to %s" % text_path)
        print("Wrote profile results to %s" % lprof_path)
        print("To view details run:\n%s -m lineprof %s" % (
            os.path.basename(sys.executable) or "python", OUTPUT_STEM + ".lprof"))


profile = GlobalProfiler()
