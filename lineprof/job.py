"""Every Python process of a job, profiled and merged into one profile.

The process that starts a job (kernprof -l, or a program run with
LINEPROF=1) makes a private folder (tempfile.mkdtemp: mode 0700, in the
system's temporary folder, never in site-packages or the user's folders)
that holds:

- ``sitecustomize.py``: the folder is put first on PYTHONPATH, so every
  Python started from the job (multiprocessing's spawn and forkserver
  children, subprocess, os.exec*, os.posix_spawn, grandchildren too) imports
  it at start-up. It takes itself off sys.path, imports the sitecustomize it
  hides (the user's or the distribution's), then starts profiling with the
  job's settings (start_child).
- ``job.json``: the settings: the -p targets, whether ``profile`` goes in the
  builtins, compensation and the measured event cost.
- ``parts/``: each process's profile, ``<name>.<host>.<pid>.<start>.lprof``,
  beside a start mark ``<same>.start`` (its command line) written when it
  starts. A mark without its part names a process that wrote nothing
  (killed with SIGKILL, or still running when the job ended).

Forked children (os.fork, multiprocessing's fork and forkserver) are caught
by lineprof.process_exit's fork hook instead; they leave a start mark too.

multiprocessing's helper processes (the resource tracker, the forkserver
itself) are set up like any child, since the forkserver imports the main
module and forks the workers, but run no profiled code: they leave no mark
and write no part.

Why sitecustomize and not a .pth file: a .pth file must sit in a
site-packages folder, which a profiler must not write to; and PEP 829
deprecates the import lines of .pth files. sitecustomize, found on
PYTHONPATH, is the start-up hook that site.py has documented for every
release, and it needs no file outside the job's folder. Processes started
with -S, -I or -E (no site, or no PYTHONPATH) are not followed.
"""
import builtins
import json
import os
import shutil
import socket
import sys
import tempfile

from lineprof import calibration
from lineprof.process_exit import ProcessWriter

JOB_VARIABLE = "LINEPROF_JOB"
CONFIG_NAME = "job.json"
PARTS_NAME = "parts"

# Imported by every Python started from the job. It must run on every
# Python 3 that might be started, lineprof or not.
SITECUSTOMIZE = '''\
"""Written by lineprof for the processes of one profiled job, removed when the job ends."""
import os as _os
import sys as _sys

_folder = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [entry for entry in _sys.path if _os.path.abspath(entry or ".") != _folder]
_this = _sys.modules.pop("sitecustomize")
try:
    try:
        import sitecustomize    # the one this file hides, if there is one
    except ImportError as error:
        if error.name != "sitecustomize":
            raise
        _sys.modules["sitecustomize"] = _this
finally:
    try:
        from lineprof.job import start_child
    except ImportError:         # another Python, without lineprof: not profiled
        pass
    else:
        start_child(_os.path.join(_folder, "job.json"))
'''

_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver",
            "multiprocessing.semaphore_tracker")


def part_stem(name, pid, start_time):
    """<name>.<host>.<pid>.<start>: the name of a process's profile, unique
    across the machines of a job."""
    host = socket.gethostname().split(".")[0] or "host"
    return "%s.%s.%d.%d" % (name, host, pid, int(start_time))


def program_name(argv=None):
    """The stem of the program's file, or 'python' (python -c, -m)."""
    argv = sys.argv if argv is None else argv
    first = argv[0] if argv else ""
    if not first or first.startswith("-"):
        return "python"
    stem = os.path.basename(first)
    return stem[:-3] if stem.endswith(".py") else stem or "python"


def command_line():
    """This process's command line, as the system knows it."""
    try:
        with open("/proc/self/cmdline", "rb") as stream:
            parts = stream.read().split(b"\0")
        return [part.decode("utf-8", "replace") for part in parts if part]
    except OSError:
        return list(getattr(sys, "orig_argv", [sys.executable] + sys.argv))


class Job:
    """The job's folder, seen from the process that started it."""

    def __init__(self, profiler, name, targets=(), prof_imports=False, builtin=True):
        self.profiler = profiler
        self.name = name
        self.folder = tempfile.mkdtemp(prefix="lineprof-job-")
        self.parts = os.path.join(self.folder, PARTS_NAME)
        os.mkdir(self.parts, 0o700)
        self._config = {
            "parts": self.parts,
            "name": name,
            "builtin": builtin,
            "targets": [_portable_target(text) for text in targets],
            "prof_imports": prof_imports,
            "compensation": profiler.compensation,
            "calibrated": None,
        }
        self._saved_environment = {}
        self.writer = None
        self.root_pid = os.getpid()

    def start(self):
        """Writes the folder's files and points this process's children at it."""
        if self.profiler.compensation:
            # Measured once here; children of this Python reuse it.
            self._config["calibrated"] = {"executable": sys.executable,
                                          "version": sys.version,
                                          "ticks": calibration.event_cost()}
        _write(os.path.join(self.folder, CONFIG_NAME), json.dumps(self._config))
        _write(os.path.join(self.folder, "sitecustomize.py"), SITECUSTOMIZE)
        for variable in ("PYTHONPATH", JOB_VARIABLE):
            self._saved_environment[variable] = os.environ.get(variable)
        path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = self.folder + (os.pathsep + path if path else "")
        os.environ[JOB_VARIABLE] = self.folder
        self.writer = ProcessWriter(self.profiler, self._part_path, writes_here=False,
                                    on_fork=_mark_start)
        self.writer.install()

    def _part_path(self, writer):
        return os.path.join(self.parts, part_stem(self.name, writer.pid, writer.start_time)
                            + ".lprof")

    def in_forked_child(self):
        return os.getpid() != self.root_pid

    def finish(self, stats, keep_parts=None):
        """Ends the job in the process that started it: lets the program's
        process pools end as they would at exit, adds every part to stats
        (this process's own profile) and removes the folder. Returns
        (stats, number of processes merged, [one-line warnings]): the
        warnings name the processes that wrote nothing and the parts that
        could not be read. keep_parts: a folder to move the parts into."""
        _end_process_pools()
        self.close()
        from lineprof.stats import LineStats
        processes, warnings = 1, []
        names = sorted(os.listdir(self.parts))
        for entry in names:
            path = os.path.join(self.parts, entry)
            if entry.endswith(".lprof"):
                try:
                    stats += LineStats.from_files(path)
                    processes += 1
                except ValueError as error:
                    warnings.append("a process's profile is unreadable, left out: %s" % error)
            elif entry.endswith(".start") and entry[:-6] + ".lprof" not in names:
                warnings.append(_silent_process(path))
        if keep_parts is not None:
            os.makedirs(keep_parts, exist_ok=True)
            for entry in names:
                if entry.endswith(".lprof"):
                    shutil.move(os.path.join(self.parts, entry), os.path.join(keep_parts, entry))
        stats.metadata = dict(stats.metadata, processes=processes)
        shutil.rmtree(self.folder, ignore_errors=True)
        return stats, processes, warnings

    def close(self):
        """Puts back the environment and the exit hooks (not the folder)."""
        if self.writer is not None:
            self.writer.uninstall()
        for variable, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
        self._saved_environment = {}

    def discard(self):
        """Ends the job without merging (kernprof could not run the program)."""
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _portable_target(text):
    """A -p target as a child can read it from any folder."""
    return os.path.abspath(text) if os.path.exists(text) else text


def _write(path, text):
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def _mark_start(writer):
    """Leaves the start mark of a process of the job."""
    folder = os.path.dirname(writer.path_for(writer))
    stem = os.path.basename(writer.path_for(writer))[:-len(".lprof")]
    try:
        _write(os.path.join(folder, stem + ".start"),
               json.dumps({"pid": writer.pid, "argv": command_line()}))
    except OSError:
        pass        # the job has ended: the part will not be read either


def _silent_process(mark_path):
    """The warning for a process that left its start mark and no profile."""
    try:
        with open(mark_path, encoding="utf-8") as stream:
            mark = json.load(stream)
        pid = int(mark["pid"])
        command = " ".join(str(arg) for arg in mark["argv"])
    except (OSError, ValueError, KeyError, TypeError):
        return "a process wrote no profile (%s)" % os.path.basename(mark_path)
    return "process %d (%s) wrote no profile: %s" % (
        pid, command, "it was still running" if _alive(pid)
        else "it was killed before it could (SIGKILL?)")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_process_pools():
    """What the interpreter does for multiprocessing and concurrent.futures
    when a program ends (pools left open are terminated, children joined,
    executors shut down), done now so that their workers' parts are there
    before they are merged. Both are safe to run again at the real exit."""
    futures = sys.modules.get("concurrent.futures.process")
    if futures is not None and hasattr(futures, "_python_exit"):
        futures._python_exit()
    util = sys.modules.get("multiprocessing.util")
    if util is not None and hasattr(util, "_exit_function"):
        util._exit_function()


# ---- in a child ---------------------------------------------------------------

def start_child(config_path):
    """Called by the job's sitecustomize in every Python started from it."""
    try:
        with open(config_path, encoding="utf-8") as stream:
            config = json.load(stream)
    except (OSError, ValueError):
        return          # the job is over (or not ours): run unprofiled
    import lineprof
    from lineprof.profiler import LineProfiler
    profiler = LineProfiler(compensation=config["compensation"])
    calibrated = config.get("calibrated")
    if calibrated and calibrated["executable"] == sys.executable and \
            calibrated["version"] == sys.version:
        calibration.use_event_cost(calibrated["ticks"])
    lineprof.profile.attach(profiler)
    if config["builtin"]:
        builtins.__dict__["profile"] = profiler
    if config["targets"]:
        _profile_targets(profiler, config["targets"], config["prof_imports"])
    helper = _is_multiprocessing_helper()
    parts, name = config["parts"], config["name"]

    def part_path(writer):
        return os.path.join(parts, part_stem(name, writer.pid, writer.start_time) + ".lprof")
    writer = ProcessWriter(profiler, part_path, writes_here=not helper, on_fork=_mark_start)
    writer.install()
    if not helper:
        _mark_start(writer)


def _profile_targets(profiler, texts, prof_imports):
    """-p in a child. The targets are resolved when the child's program is
    about to run (the first "exec" audit event: its code, or runpy's), not
    at start-up, when sys.path does not hold the script's folder yet. Then,
    as in the parent, imported modules go through the import hook; the
    scripts a child runs (python script.py, multiprocessing's re-run of the
    main module) through the "exec" audit event, which gives the compiled
    module before it runs. Profiling stays on for the life of the process,
    as it does in kernprof -p."""
    state = {"autoprofiler": None, "starting": False}

    def on_exec(event, args):
        if event != "exec" or not args or not hasattr(args[0], "co_filename"):
            return
        if state["autoprofiler"] is None:
            if state["starting"]:
                return          # a package imported while the targets are resolved
            state["starting"] = True
            state["autoprofiler"] = _start_autoprofiler(profiler, texts, prof_imports)
        state["autoprofiler"].add_script(args[0], args[0].co_filename)
    sys.addaudithook(on_exec)
    profiler.enable()


def _start_autoprofiler(profiler, texts, prof_imports):
    from lineprof.autoprofile import AutoProfiler, Target, TargetError
    targets = []
    for text in texts:
        try:
            targets.append(Target(text))
        except TargetError:
            pass            # a module this child cannot import: nothing to profile
    autoprofiler = AutoProfiler(profiler, targets, prof_imports)
    autoprofiler.start()
    return autoprofiler


def _is_multiprocessing_helper():
    line = " ".join(command_line()[1:4])
    return any(helper in line for helper in _HELPERS)
