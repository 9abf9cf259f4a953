"""`from lineprof import profile`: a decorator that is free unless asked for.

Functions decorated with it run untouched, unless profiling is on:
- under kernprof, which hands this object its profiler, or
- when the environment variable LINEPROF=1 (or line_profiler's LINE_PROFILE=1)
  is set as the program starts under plain `python`, or its command line has
  `--line-profile` (line_profiler's flags), or the program calls
  `profile.enable()` before decorating. Then the decorated functions are
  profiled and, at exit, as line_profiler 5 does: a summary is printed, the
  text report written to profile_output.txt and profile_output_<time>.txt, the
  profile to profile_output.lprof (the prefix: enable(output_prefix=...)), in
  the current folder, and the files are named with the command that shows
  them. line_profiler's [tool.line_profiler.setup] and .write tables choose
  the flags and outputs (lineprof.config.explicit_settings).
  The Python processes the program starts are profiled too and merged into
  that file (lineprof.job), unless LINEPROF_SUBPROCESSES=0.

For jobs that lineprof does not start (Dask, Ray, Celery, gunicorn and MPI
workers, on one machine or many): with LINEPROF_DIR=FOLDER as well, every
process writes its own profile, FOLDER/<name>.<host>.<pid>.<start>.lprof,
when it ends, and prints nothing; `lineprof merge FOLDER -o job.lprof` sums
them. LINEPROF_TARGETS takes -p's targets (comma-separated): their functions
are profiled, without decorators, from the moment lineprof is imported.

In deployed code (lineprof.sampling): LINEPROF_SAMPLE=P profiles each
outermost decorated call with probability P, LINEPROF_LIMIT=N at most N calls
per process (or profile(sample=P, limit=N) as a decorator factory), and
LINEPROF_PER_CALL=1 writes each profiled call to its own file.
LINEPROF_DUMP_SIGNAL=SIGUSR1 (or profile.dump_on_signal()) writes the profile
so far on that signal (lineprof.live_dump).
"""
import atexit
import os
import sys

_FALSE = ("", "0", "false", "no", "off")


def _wanted(settings):
    """Whether the environment or the command line asks for profiling."""
    return any(os.environ.get(name, "").strip().lower() not in _FALSE
               for name in settings["environ_flags"]) or \
        any(flag in sys.argv for flag in settings["cli_flags"])


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
        self._sampling = None       # (sample, limit, per_call) of the environment
        self._per_call = None       # the PerCallWriter of LINEPROF_PER_CALL=1
        self._pid = os.getpid()
        self._settings = None       # explicit_settings(), read when first needed
        self.output_prefix = None   # enable(output_prefix=...), else the settings'

    @property
    def settings(self):
        if self._settings is None:
            from lineprof.config import explicit_settings
            self._settings = explicit_settings()
        return self._settings

    @property
    def enabled(self):
        self._decide()
        return self._profiler is not None

    def enable(self, output_prefix=None):
        """Profiles the functions decorated from now on (as LINEPROF=1 does),
        writing the outputs at exit under output_prefix (default:
        profile_output). Under kernprof, only the prefix is kept."""
        if output_prefix is not None:
            self.output_prefix = output_prefix
        if self._profiler is None and not os.environ.get("LINEPROF_JOB"):
            self._decided = False
            self._start()
        self._decided = True
        self._disabled = False

    def disable(self):
        """Functions decorated from now on run untouched (those decorated
        before stay profiled, and the outputs are still written at exit)."""
        self._decided = True
        self._disabled = True

    _disabled = False

    def _decide(self):
        if self._decided:
            return
        self._decided = True
        # A process of a kernprof (or LINEPROF=1) job: the job's start-up
        # code attaches its profiler, or leaves the process unprofiled.
        if self._profiler is not None or os.environ.get("LINEPROF_JOB") or \
                not _wanted(self.settings):
            return
        self._start()

    def _read_sampling(self):
        """The environment's sampling; False (and a one-line warning) if bad."""
        from lineprof import sampling
        try:
            self._sampling = sampling.from_environment()
        except ValueError as error:
            sys.stderr.write("lineprof: %s; profiling is off\n" % error)
            return False
        return True

    def _start(self):
        if not self._read_sampling():
            return
        from lineprof.profiler import LineProfiler
        self._profiler = LineProfiler()
        targets = _targets_from_environment()
        folder = os.environ.get("LINEPROF_DIR")
        from lineprof import live_dump
        if self._sampling[2]:
            from lineprof.sampling import PerCallWriter
            self._per_call = PerCallWriter(self._profiler, folder)
            live_dump.set_writer(lambda: sys.stderr.write(
                "lineprof: LINEPROF_PER_CALL=1 writes each call's profile as it ends;"
                " nothing to dump\n"), "explicit")
        elif folder:
            from lineprof.job import part_stem, program_name
            name = program_name()

            def part_path(writer):
                os.makedirs(folder, exist_ok=True)
                return os.path.join(folder, part_stem(name, writer.pid, writer.start_time)
                                    + ".lprof")
            from lineprof.process_exit import ProcessWriter
            self._writer = ProcessWriter(self._profiler, part_path, skip_empty=True)
            self._writer.install()
            writer = self._writer
            live_dump.set_writer(lambda: writer.save(writer.profiler.get_stats(),
                                                     writer.path_for(writer)), "explicit")
        else:
            if os.environ.get("LINEPROF_SUBPROCESSES", "1").strip().lower() not in ("0", "false",
                                                                                   "no", "off"):
                from lineprof.job import Job
                self._job = Job(self._profiler, self._prefix(), targets, builtin=False)
                self._job.start()
            atexit.register(self._write_at_exit)
            live_dump.set_writer(lambda: self._profiler.get_stats().to_file(
                self._prefix() + ".lprof"), "explicit")
        live_dump.install_from_environment()
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
        if profiler is not None:
            from lineprof import live_dump
            live_dump.install_from_environment()

    def dump_on_signal(self, signum="SIGUSR1"):
        """On signum (a number or a name), the process writes its profile so
        far where it writes it at exit, atomically, and goes on. Call it from
        the main thread."""
        from lineprof import live_dump
        live_dump.install(live_dump.signal_number(signum))

    def __call__(self, func=None, *, sample=None, limit=None):
        """@profile, or @profile(sample=P, limit=N): each outermost call
        profiled with probability P, at most N in this process."""
        if sample is not None or limit is not None:
            # Imported only here: a plain @profile (deployed code with
            # LINEPROF unset) imports nothing more.
            from lineprof import sampling
            if sample is not None:
                sample = sampling.check_sample(sample)
            if limit is not None:
                limit = sampling.check_limit(limit)
        if func is None:
            return lambda func: self._decorate(func, sample, limit)
        return self._decorate(func, sample, limit)

    def _decorate(self, func, sample, limit):
        self._decide()
        if self._profiler is None or self._disabled:
            return func
        profiled = self._profiler(func)
        environment = self._sampling or (None, None, False)
        if sample is None:
            sample = environment[0]
        if limit is None:
            limit = environment[1]
        if sample is None and limit is None and self._per_call is None:
            return profiled
        from lineprof import sampling
        # A sampled call counts the lines of its own thread only: on 3.12+ the
        # unsampled calls other threads make meanwhile would be counted too.
        self._profiler._tracer.calling_thread_only = True
        chooser = sampling.sampler(sample, limit, self._per_call)
        return sampling.wrap(func, profiled, chooser) or profiled

    def _prefix(self):
        return self.output_prefix or self.settings["output_prefix"]

    def _write_at_exit(self):
        if os.getpid() != self._pid:
            return          # a forked child: it writes its own part of the job
        stats = self._profiler.get_stats()
        if self._job is not None:
            stats, processes, warnings = self._job.finish(stats)
            self._job = None
            for warning in warnings:
                sys.stderr.write("lineprof: %s\n" % warning)
            if processes > 1:
                print("Merged the profiles of %d processes" % processes)
        self.write_outputs(stats)

    def write_outputs(self, stats):
        """What line_profiler 5 writes at exit, as its [write] settings say:
        the summary on stdout, the text report in PREFIX.txt and
        PREFIX_<time>.txt, the profile in PREFIX.lprof, each file named as
        written (relative to the current folder)."""
        import io
        import time
        from lineprof.datafile import write_atomically
        settings, prefix = self.settings, self._prefix()
        if settings["stdout"]:
            self._print_summary(stats)
        # The files always hold the details, in plain text (as line_profiler's).
        report = io.StringIO()
        stats.print(stream=report, output_unit=1e-6, sort=settings["show"]["sort"],
                    stripzeros=settings["show"]["stripzeros"],
                    summarize=settings["show"]["summarize"],
                    column_widths=settings["column_widths"])
        outputs = []
        if settings["text"]:
            outputs.append((prefix + ".txt", report.getvalue().encode("utf-8")))
        if settings["timestamped_text"]:
            stamp = time.strftime("%Y-%m-%dT%H%M%S")
            outputs.append(("%s_%s.txt" % (prefix, stamp), report.getvalue().encode("utf-8")))
        try:
            for path, payload in outputs:
                write_atomically(path, payload)
                print("Wrote profile results to %s" % path)
            if settings["lprof"]:
                stats.to_file(prefix + ".lprof")
                print("Wrote profile results to %s" % (prefix + ".lprof"))
                print("To view details run:\n%s -m lineprof -rtmz %s" % (
                    sys.executable or "python", prefix + ".lprof"))
        except OSError as error:
            sys.stderr.write("lineprof: could not write the profile: %s\n" % error)
            if not settings["stdout"]:
                self._print_summary(stats)

    def _print_summary(self, stats):
        """What goes to stdout at exit, as [tool.line_profiler.show] says:
        by default the summary (a line per function), sorted, without the
        functions never called; with details, the report, in colour with
        rich where it is installed and rich is on."""
        show = self.settings["show"]
        if show["rich"] and show["details"]:
            from lineprof import rich_report
            if rich_report.available():
                rich_report.show_rich(stats.timings, stats.unit, stripzeros=show["stripzeros"],
                                      sort=show["sort"], summarize=show["summarize"],
                                      edges=stats.edges, memory=stats.memory)
                return
        stats.print(details=show["details"], summarize=show["summarize"], sort=show["sort"],
                    stripzeros=show["stripzeros"], column_widths=self.settings["column_widths"])


profile = GlobalProfiler()
if _targets_from_environment():
    profile.enabled       # LINEPROF_TARGETS: profiling starts now, not at a first decorator
