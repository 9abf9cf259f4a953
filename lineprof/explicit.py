"""`from lineprof import profile`: a decorator that is free unless asked for.

Functions decorated with it run untouched, unless profiling is on:
- under kernprof, which hands this object its profiler, or
- when the environment variable LINEPROF=1 (or line_profiler's LINE_PROFILE=1)
  is set as the program starts under plain `python`. Then the decorated
  functions are profiled and, at exit, the profile is written to
  profile_output.lprof and a text report to profile_output.txt in the current
  folder (line_profiler's names), and a summary and the paths are printed.
  The Python processes the program starts are profiled too and merged into
  that file (lineprof.job), unless LINEPROF_SUBPROCESSES=0.

For jobs that lineprof does not start (Dask, Ray, Celery, gunicorn and MPI
workers, on one machine or many): with LINEPROF_DIR=FOLDER as well, every
process writes its own profile, FOLDER/<name>.<host>.<pid>.<start>.lprof,
when it ends, and prints nothing; `lineprof merge FOLDER -o job.lprof` sums
them. LINEPROF_TARGETS takes -p's targets (comma-separated): their functions
are profiled, without decorators, from the moment lineprof is imported.
"""
import atexit
import os
import sys

OUTPUT_STEM = "profile_output"
_TRUE = ("1", "true", "yes", "on")


def _wanted_by_environment():
    return any(os.environ.get(name, "").strip().lower() in _TRUE
               for name in ("LINEPROF", "LINE_PROFILE"))


def _targets_from_environment():
    return [text.strip() for text in os.environ.get("LINEPROF_TARGETS", "").split(",")
            if text.strip()]


class GlobalProfiler:
    """The object behind lineprof.profile."""

    def __init__(self):
        self._profiler = None
        self._decided = False
        self._job = None
        self._writer = None         # the ProcessWriter of LINEPROF_DIR
        self._autoprofiler = None
        self._pid = os.getpid()

    @property
    def enabled(self):
        self._decide()
        return self._profiler is not None

    def _decide(self):
        if self._decided:
            return
        self._decided = True
        # A process of a kernprof (or LINEPROF=1) job: the job's start-up
        # code attaches its profiler, or leaves the process unprofiled.
        if self._profiler is not None or not _wanted_by_environment() or \
                os.environ.get("LINEPROF_JOB"):
            return
        from lineprof.profiler import LineProfiler
        self._profiler = LineProfiler()
        targets = _targets_from_environment()
        folder = os.environ.get("LINEPROF_DIR")
        if folder:
            from lineprof.job import part_stem, program_name
            name = program_name()

            def part_path(writer):
                os.makedirs(folder, exist_ok=True)
                return os.path.join(folder, part_stem(name, writer.pid, writer.start_time)
                                    + ".lprof")
            from lineprof.process_exit import ProcessWriter
            self._writer = ProcessWriter(self._profiler, part_path, skip_empty=True)
            self._writer.install()
        else:
            if os.environ.get("LINEPROF_SUBPROCESSES", "1").strip().lower() not in ("0", "false",
                                                                                   "no", "off"):
                from lineprof.job import Job
                self._job = Job(self._profiler, OUTPUT_STEM, targets, builtin=False)
                self._job.start()
            atexit.register(self._write_at_exit)
        if targets:
            self._profile_targets(targets)

    def _profile_targets(self, texts):
        from lineprof.autoprofile import AutoProfiler, Target, TargetError
        try:
            targets = [Target(text) for text in texts]
        except TargetError as error:
            sys.stderr.write("lineprof: LINEPROF_TARGETS: %s\n" % error)
            return
        self._autoprofiler = AutoProfiler(self._profiler, targets)
        self._autoprofiler.start()
        # Modules still running their body (the script that imported
        # lineprof, say): the functions they have yet to define are found in
        # their code.
        frame = sys._getframe()
        while frame is not None:
            if frame.f_code.co_name == "<module>":
                self._autoprofiler.add_script(frame.f_code, frame.f_code.co_filename)
            frame = frame.f_back
        self._profiler.enable()

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
        if os.getpid() != self._pid:
            return          # a forked child: it writes its own part of the job
        from lineprof.datafile import dump_stats
        stats = self._profiler.get_stats()
        if self._job is not None:
            stats, processes, warnings = self._job.finish(stats)
            self._job = None
            for warning in warnings:
                sys.stderr.write("lineprof: %s\n" % warning)
            if processes > 1:
                print("Merged the profiles of %d processes" % processes)
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
if _targets_from_environment():
    profile.enabled       # LINEPROF_TARGETS: profiling starts now, not at a first decorator
