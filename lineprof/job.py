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
- ``job.marshal``: the settings: the -p targets, whether ``profile`` goes in
  the builtins, compensation, and the event cost and timer unit measured
  here (a child of the same Python reuses them).
- ``parts/``: each process's profile, ``<name>.<host>.<pid>.<start>.part``,
  beside a start mark ``<same>.start`` (its command line) written when it
  starts. A mark without its part names a process that wrote nothing
  (killed with SIGKILL, or still running when the job ended).

What a child pays is kept small (benchmarks/child_startup.py): the settings
and the parts are marshal data, which needs no import (json and tempfile
would cost a child more than lineprof itself); the parts are turned into
.lprof files only by the merge, or by --keep-parts.

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
import marshal
import os
import sys

from lineprof import calibration
from lineprof.process_exit import ProcessWriter

JOB_VARIABLE = "LINEPROF_JOB"
CONFIG_NAME = "job.marshal"
PARTS_NAME = "parts"
PART_SUFFIX = ".part"

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
        start_child(_os.path.join(_folder, "job.marshal"))
'''

_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver",
            "multiprocessing.semaphore_tracker")


def part_stem(name, pid, start_time):
    """<name>.<host>.<pid>.<start>: the name of a process's profile, unique
    across the machines of a job."""
    node = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
    host = node.split(".")[0] or "host"
    return "%s.%s.%d.%d" % (name, host, pid, int(start_time))


def program_name():
    """The stem of the program's file, or 'python' (python -c, -m)."""
    first = sys.argv[0] if sys.argv else ""
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
        import tempfile
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
            "memory": profiler.memory,
            "calibrated": None,
        }
        self._saved_environment = {}
        self.writer = None

    def start(self):
        """Writes the folder's files and points this process's children at it."""
        # Measured once here; children of this Python reuse them.
        self._config["calibrated"] = {
            "executable": sys.executable, "version": sys.version,
            "event_cost": calibration.event_cost() if self.profiler.compensation else 0.0,
            "frame_event_cost":
                calibration.frame_event_cost() if self.profiler.compensation else 0.0,
            "timer_unit": calibration.timer_unit()}
        with open(os.path.join(self.folder, CONFIG_NAME), "wb") as stream:
            marshal.dump(self._config, stream, 2)
        _write(os.path.join(self.folder, "sitecustomize.py"), SITECUSTOMIZE)
        for variable in ("PYTHONPATH", JOB_VARIABLE):
            self._saved_environment[variable] = os.environ.get(variable)
        path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = self.folder + (os.pathsep + path if path else "")
        os.environ[JOB_VARIABLE] = self.folder
        self.writer = ProcessWriter(self.profiler, _part_path(self.parts, self.name),
                                    writes_here=False, on_fork=_mark_start, save=save_part)
        self.writer.install()

    def finish(self, stats, keep_parts=None):
        """Ends the job in the process that started it: lets the program's
        process pools end as they would at exit, adds every part to stats
        (this process's own profile) and removes the folder. Returns
        (stats, number of processes merged, [one-line warnings]): the
        warnings name the processes that wrote nothing and the parts that
        could not be read. keep_parts: a folder to move the parts into."""
        _end_process_pools()
        self.close()
        import shutil
        processes, warnings = 1, []
        names = sorted(os.listdir(self.parts))
        # A process that exec'd Python wrote under the new program's mark.
        pids_written = {_pid_of(name) for name in names if name.endswith(PART_SUFFIX)}
        for entry in names:
            path = os.path.join(self.parts, entry)
            if entry.endswith(PART_SUFFIX):
                try:
                    part = load_part(path)
                except ValueError as error:
                    warnings.append("a process's profile is unreadable, left out: %s" % error)
                    continue
                stats += part
                processes += 1
                if keep_parts is not None:
                    os.makedirs(keep_parts, exist_ok=True)
                    part.to_file(os.path.join(keep_parts, entry[:-len(PART_SUFFIX)] + ".lprof"))
            elif entry.endswith(".start") and entry[:-6] + PART_SUFFIX not in names \
                    and _pid_of(entry) not in pids_written:
                warnings.append(_silent_process(path))
        if processes > 1:
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
        import shutil
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _portable_target(text):
    """A -p target as a child can read it from any folder."""
    return os.path.abspath(text) if os.path.exists(text) else text


def _write(path, text):
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def _part_path(folder, name):
    def part_path(writer):
        # Milliseconds: a process that execs writes twice under one pid.
        return os.path.join(folder, part_stem(name, writer.pid, writer.start_time * 1000)
                            + PART_SUFFIX)
    return part_path


def save_part(stats, path):
    """Writes a process's profile as a part of the job: marshal data, through
    a temporary file and a rename, as every profile is written."""
    if not os.path.isdir(os.path.dirname(path)):
        return      # the job has ended without this process (it was reported then)
    data = marshal.dumps((PART_FORMAT, stats.unit, stats.timings, stats.code_hashes,
                          stats.calls, stats.metadata, stats.edges, stats.memory), 2)
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "wb") as stream:
        stream.write(data)
    os.replace(temporary, path)


PART_FORMAT = "lineprof-part-3"


def load_part(path):
    """The LineStats of a part; ValueError if it is not one."""
    from lineprof.stats import LineStats
    try:
        with open(path, "rb") as stream:
            fields = marshal.load(stream)
        if fields[0] != PART_FORMAT:
            raise ValueError("not a part of this lineprof")
        form, unit, timings, code_hashes, calls, metadata, edges, memory = fields
        return LineStats(timings, unit, code_hashes, metadata, calls, edges, memory)
    except (OSError, EOFError, TypeError, ValueError) as error:
        raise ValueError("%s: %s" % (path, error))


def _mark_start(writer):
    """Leaves the start mark of a process of the job: its pid and command
    line, one per line."""
    path = writer.path_for(writer)
    try:
        _write(path[:-len(PART_SUFFIX)] + ".start",
               "\n".join([str(writer.pid)] + command_line()))
    except OSError:
        pass        # the job has ended: the part would not be read either


def _pid_of(name):
    """The pid in a part's or mark's name, <name>.<host>.<pid>.<start>.<suffix>."""
    return name.rsplit(".", 3)[1]


def _silent_process(mark_path):
    """The warning for a process that left its start mark and no profile."""
    try:
        with open(mark_path, encoding="utf-8", errors="replace") as stream:
            lines = stream.read().split("\n")
        pid = int(lines[0])
    except (OSError, ValueError):
        return "a process wrote no profile (%s)" % os.path.basename(mark_path)
    return "process %d (%s) wrote no profile: %s" % (
        pid, " ".join(lines[1:]), "it was still running" if _alive(pid)
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
    before they are merged. Both are safe to run again at the real exit.
    Their "the interpreter is exiting" flags are put back: the process may
    go on (kernprof.main() called from a program) and use pools again."""
    futures = sys.modules.get("concurrent.futures.process")
    if futures is not None and hasattr(futures, "_python_exit"):
        shutting_down = getattr(futures, "_global_shutdown", False)
        futures._python_exit()
        futures._global_shutdown = shutting_down
    util = sys.modules.get("multiprocessing.util")
    if util is not None and hasattr(util, "_exit_function"):
        exiting = getattr(util, "_exiting", False)
        util._exit_function()
        util._exiting = exiting


# ---- in a child ---------------------------------------------------------------

def start_child(config_path):
    """Called by the job's sitecustomize in every Python started from it."""
    try:
        with open(config_path, "rb") as stream:
            config = marshal.load(stream)
    except (OSError, EOFError, ValueError, TypeError):
        return          # the job is over (or not ours): run unprofiled
    import lineprof
    from lineprof.profiler import LineProfiler
    profiler = LineProfiler(compensation=config["compensation"],
                            memory=config.get("memory", False))
    calibrated = config.get("calibrated")
    if calibrated and calibrated["executable"] == sys.executable and \
            calibrated["version"] == sys.version:
        calibration.use_measured(calibrated["event_cost"], calibrated["timer_unit"],
                                 calibrated.get("frame_event_cost", 0.0))
    lineprof.profile.attach(profiler)
    if config["builtin"]:
        builtins.__dict__["profile"] = profiler
    if config["targets"]:
        _profile_targets(profiler, config["targets"], config["prof_imports"])
    helper = _is_multiprocessing_helper()
    writer = ProcessWriter(profiler, _part_path(config["parts"], config["name"]),
                           writes_here=not helper, on_fork=_mark_start, save=save_part)
    writer.install()
    if not helper:
        _mark_start(writer)


def _profile_targets(profiler, texts, prof_imports):
    """-p in a child. As in the parent, imported modules go through the
    import hook; the scripts a child runs (python script.py,
    multiprocessing's re-run of the main module) through the "exec" audit
    event, which gives the compiled module before it runs. A target is
    resolved once sys.path can find it: a module target of the program's
    folder cannot be found at start-up, before python puts that folder on
    sys.path, so those that fail are tried again at each "exec" event after
    sys.path changed. Profiling stays on for the life of the process, as it
    does in kernprof -p."""
    from lineprof.autoprofile import AutoProfiler
    profiler.enable()       # first: it may import (threading, for settrace)
    autoprofiler = AutoProfiler(profiler, [], prof_imports)
    pending = list(texts)
    autoprofiler.add_targets(_resolve(pending))
    searched = [list(sys.path)]     # the sys.path pending targets were last looked for in
    autoprofiler.start()

    def on_exec(event, args):
        if event != "exec" or not args or not hasattr(args[0], "co_filename"):
            return
        if pending and sys.path != searched[0]:
            searched[0] = list(sys.path)
            autoprofiler.add_targets(_resolve(pending))
        autoprofiler.add_script(args[0], args[0].co_filename)
    sys.addaudithook(on_exec)


def _resolve(pending):
    """The targets among pending that can be found now (taken out of it)."""
    from lineprof.autoprofile import Target, TargetError
    found = []
    for text in list(pending):
        try:
            found.append(Target(text))
        except TargetError:
            continue        # not on this sys.path (yet, or in this child at all)
        pending.remove(text)
    return found


def _is_multiprocessing_helper():
    """Whether this is multiprocessing's resource tracker or forkserver:
    python [options] -c 'from multiprocessing.forkserver import main; ...'."""
    argv = command_line()
    if "-c" not in argv[1:-1]:
        return False
    code = argv[argv.index("-c", 1) + 1]
    return any(helper in code for helper in _HELPERS)
