"""`python -m lineprof attach PID -f module:function ... -o out.lprof`:
profiles functions of a Python process that is already running (3.14+).

The attaching side writes a request (request.json) and a three-line script
into a private folder (0700; given to the target's user when root attaches
to another user's process), and has the target run the script with
sys.remote_exec (PEP 768), which happens in the target's main thread at its
next eval-breaker check. The script imports lineprof.attach in the target
and calls _inject(FOLDER), which registers the named functions with a
LineProfiler (on 3.12+ sys.monitoring local events on their code objects
only), enables it, writes status.json and returns at once: the main thread
is held for no longer than that. A daemon thread in the target then waits
for the seconds asked, for the stop file (Ctrl-C on the attaching side) or
for the attaching process to go away, disables the profiler (which clears
every local event it set and frees its sys.monitoring tool id), writes
profile.lprof (atomically) and done.json. The attaching side polls for
those files, copies the profile to -o and removes the folder. What stays in
the target is the imported lineprof modules."""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

PROG = "lineprof attach"
POLL = 0.05
# After the window, the target has this long to disable and write.
WRITE_TIMEOUT = 60.0


class AttachError(Exception):
    """A one-line error of the attaching side."""


# ---- in the target ------------------------------------------------------------

def _write_json_atomically(path, value):
    temporary = path + ".tmp"
    with open(temporary, "w") as stream:
        json.dump(value, stream)
    os.replace(temporary, path)


def _resolve_function(spec):
    """module:qualname -> the object, from a module the target has imported."""
    module_name, sep, qualname = spec.partition(":")
    if not sep or not module_name or not qualname:
        raise LookupError("%r is not module:function" % spec)
    module = sys.modules.get(module_name)
    if module is None:
        raise LookupError("function not found: %s (module %r is not imported in the process)"
                          % (spec, module_name))
    return _attributes(module, qualname.split("."), "function not found: " + spec)


def _attributes(obj, parts, failure):
    """obj.parts[0].parts[1]...; LookupError starting with failure if one is missing."""
    for part in parts:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise LookupError("%s (%r has no attribute %r)"
                              % (failure, getattr(obj, "__name__", obj), part))
    return obj


def _resolve_target(name):
    """A dotted name (as kernprof -p takes it): the longest prefix that names
    an imported module, then attributes."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        if module is None:
            continue
        return _attributes(module, parts[end:], "target not found: " + name)
    raise LookupError("target not found: %s (no such module is imported in the process)" % name)


def _inject(folder):
    """Runs in the target's main thread (sys.remote_exec): registers and
    enables, starts the waiting thread, and returns at once."""
    status = os.path.join(folder, "status.json")
    try:
        with open(os.path.join(folder, "request.json")) as stream:
            request = json.load(stream)
        import types
        from lineprof.profiler import LineProfiler
        profiler = LineProfiler()
        names = []
        for spec in request["functions"]:
            obj = _resolve_function(spec)
            if not profiler.add_callable(obj):
                raise LookupError("function not found: %s is not a Python function" % spec)
            names.append(spec)
        for name in request["targets"]:
            obj = _resolve_target(name)
            if isinstance(obj, types.ModuleType):
                found = profiler.add_module(obj)
            else:
                found = profiler.add_callable(obj)
            if not found:
                raise LookupError("target %s has no Python function to profile" % name)
            names.append(name)
        profiler.enable()
    except BaseException as error:
        message = str(error) if isinstance(error, LookupError) and not isinstance(
            error, KeyError) else "%s: %s" % (type(error).__name__, error)
        _write_json_atomically(status, {"ok": False, "error": message})
        return
    import threading
    thread = threading.Thread(target=_wait_and_write, name="lineprof-attach", daemon=True,
                              args=(profiler, folder, request))
    thread.start()
    _write_json_atomically(status, {"ok": True, "profiled": names,
                                    "functions": len(profiler.functions)})


def _attacher_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True         # alive, only not ours to signal
    return True


def _wait_and_write(profiler, folder, request):
    seconds = request["seconds"]
    deadline = None if seconds is None else time.monotonic() + seconds
    stop = os.path.join(folder, "stop")
    while not os.path.exists(stop) and _attacher_alive(request["attacher"]):
        if deadline is not None and time.monotonic() >= deadline:
            break
        time.sleep(POLL if deadline is None else max(0.0, min(POLL, deadline - time.monotonic())))
    result = {"ok": True}
    try:
        profiler.disable()
    except BaseException as error:
        result = {"ok": False, "error": "could not stop profiling: %s" % error}
    if result["ok"]:
        try:
            profiler.dump_stats(os.path.join(folder, "profile.lprof"))
        except BaseException as error:
            result = {"ok": False, "error": "could not write the profile: %s" % error}
    del profiler
    try:
        _write_json_atomically(os.path.join(folder, "done.json"), result)
    except OSError:
        pass            # the attaching side went away and its folder with it


# The script that the target runs. It binds no name in the namespace it runs
# in (the except clause's name is deleted at its end).
SCRIPT = """\
try:
    __import__("lineprof.attach", fromlist=["_inject"])._inject(%(folder)r)
except BaseException as _lineprof_attach_error:
    open(%(failed)r, "w").write("%%s: %%s" %% (type(_lineprof_attach_error).__name__, _lineprof_attach_error))
    __import__("os").replace(%(failed)r, %(import_failed)r)
"""


# ---- on the attaching side ----------------------------------------------------------------

def _parser():
    from lineprof.cmdline import OneLineErrorParser, positive_float
    parser = OneLineErrorParser(
        prog="python -m lineprof attach",
        description="Profile functions of a running Python 3.14+ process (of the same minor "
                    "version as this one) for some seconds, or until Ctrl-C, through "
                    "sys.remote_exec; every event set is removed afterwards.")
    parser.error_prefix = PROG
    parser.add_argument("pid", type=int, metavar="PID", help="the process to attach to")
    parser.add_argument("-f", "--function", action="append", default=[], dest="functions",
                        metavar="MODULE:FUNCTION",
                        help="a function to profile (a qualified name: module:Class.method); "
                             "the module must be imported in the process; repeatable")
    parser.add_argument("-p", "--prof-mod", action="append", default=[], dest="targets",
                        metavar="TARGET",
                        help="an imported module, class or function (dotted name) whose "
                             "functions to profile, as kernprof -p; repeatable")
    parser.add_argument("--seconds", type=positive_float, metavar="N",
                        help="profile for N seconds (default: until Ctrl-C)")
    parser.add_argument("-o", "--outfile", metavar="PATH",
                        help="the .lprof to write (default: lineprof-attach-PID.lprof)")
    parser.add_argument("--start-timeout", type=positive_float, default=10.0, metavar="N",
                        help="seconds to wait for the process to run lineprof's script "
                             "(its main thread must be running Python code; default: 10)")
    return parser


def _check_process(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise AttachError("no process %d" % pid)
    except PermissionError:
        raise AttachError("no permission to attach to process %d (another user's process)"
                          % pid)


def _remote_exec(pid, script):
    try:
        sys.remote_exec(pid, script)
    except PermissionError as error:
        raise AttachError(
            "no permission to attach to process %d (%s): attaching needs the same user and a "
            "ptrace scope that allows it (/proc/sys/kernel/yama/ptrace_scope 0, or "
            "CAP_SYS_PTRACE)" % (pid, error.strerror or error))
    except ProcessLookupError:
        raise AttachError("no process %d" % pid)
    except RuntimeError as error:
        text = str(error)
        if "not enabled in the remote process" in text:
            raise AttachError("remote debugging is disabled in process %d "
                              "(PYTHON_DISABLE_REMOTE_DEBUG or -X disable_remote_debug)" % pid)
        if "Can't send commands from" in text:
            raise AttachError("%s: run lineprof attach with the Python version of the process"
                              % text.rstrip("."))
        if "PyRuntime" in text:
            raise AttachError("process %d is not a CPython 3.14+ process (%s)"
                              % (pid, text.splitlines()[0]))
        raise AttachError("cannot attach to process %d: %s" % (pid, text.splitlines()[0]))
    except OSError as error:
        raise AttachError("cannot attach to process %d: %s" % (pid, error))


def _wait_for(path, pid, timeout, what):
    """Waits for path to appear; AttachError if the process ends or the
    timeout passes first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if not _process_alive(pid):
            raise AttachError("process %d ended %s" % (pid, what))
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    # A zombie (our own child that ended) is no longer running.
    try:
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def _read_json(path):
    with open(path) as stream:
        return json.load(stream)


def attach(pid, functions, targets=(), seconds=None, outfile=None, start_timeout=10.0,
           say=None):
    """Profiles the functions (module:qualname) and targets (dotted names)
    in process pid for seconds (None: until KeyboardInterrupt), writes
    outfile and returns its path. Raises AttachError."""
    if sys.version_info < (3, 14) or not hasattr(sys, "remote_exec"):
        raise AttachError("needs Python 3.14 or newer (sys.remote_exec, PEP 768); this is "
                          "Python %d.%d" % sys.version_info[:2])
    if not functions and not targets:
        raise AttachError("nothing to profile: give -f MODULE:FUNCTION or -p TARGET")
    _check_process(pid)
    outfile = outfile or "lineprof-attach-%d.lprof" % pid
    folder = tempfile.mkdtemp(prefix="lineprof-attach-")     # 0700
    keep_folder = False
    try:
        owner = os.stat("/proc/%d" % pid).st_uid if os.path.isdir("/proc/%d" % pid) else None
        if owner is not None and owner != os.geteuid() and os.geteuid() == 0:
            os.chown(folder, owner, -1)     # the target reads and writes in it
        request = {"functions": list(functions), "targets": list(targets),
                   "seconds": seconds, "attacher": os.getpid()}
        _write_json_atomically(os.path.join(folder, "request.json"), request)
        script = os.path.join(folder, "attach_script.py")
        with open(script, "w") as stream:
            stream.write(SCRIPT % {"folder": folder,
                                   "failed": os.path.join(folder, "import_error.tmp"),
                                   "import_failed": os.path.join(folder, "import_error")})
        if owner is not None and owner != os.geteuid() and os.geteuid() == 0:
            for name in os.listdir(folder):
                os.chown(os.path.join(folder, name), owner, -1)
        _remote_exec(pid, script)
        status_path = os.path.join(folder, "status.json")
        import_error = os.path.join(folder, "import_error")
        deadline = time.monotonic() + start_timeout
        while not os.path.exists(status_path):
            if os.path.exists(import_error):
                with open(import_error) as stream:
                    detail = stream.read().strip().splitlines()[0]
                raise AttachError("lineprof is not importable in process %d (%s): install it "
                                  "in that process's environment" % (pid, detail))
            if not _process_alive(pid):
                raise AttachError("process %d ended before it ran lineprof's script" % pid)
            if time.monotonic() >= deadline:
                # The script may still run later: it must then find the
                # attaching side gone and stop at once, so the folder stays.
                keep_folder = True
                raise AttachError(
                    "process %d did not run lineprof's script within %g s (its main thread "
                    "runs no Python code: blocked in a call or a sleep?)" % (pid, start_timeout))
            time.sleep(POLL)
        status = _read_json(status_path)
        if not status["ok"]:
            raise AttachError(status["error"])
        if say:
            say("profiling %s in process %d %s" % (
                ", ".join(status["profiled"]), pid,
                "for %g s" % seconds if seconds is not None else "until Ctrl-C"))
        done = os.path.join(folder, "done.json")
        try:
            while not os.path.exists(done):
                if not _process_alive(pid):
                    raise AttachError("process %d ended before the profile was written" % pid)
                time.sleep(POLL)
        except KeyboardInterrupt:
            open(os.path.join(folder, "stop"), "w").close()
            if not _wait_for(done, pid, WRITE_TIMEOUT, "before the profile was written"):
                raise AttachError("process %d did not write the profile within %g s"
                                  % (pid, WRITE_TIMEOUT))
        result = _read_json(done)
        if not result["ok"]:
            raise AttachError(result["error"])
        from lineprof.datafile import write_atomically
        with open(os.path.join(folder, "profile.lprof"), "rb") as stream:
            payload = stream.read()
        try:
            write_atomically(outfile, payload)
        except OSError as error:
            raise AttachError("cannot write %s: %s" % (outfile, error.strerror or error))
        return outfile
    finally:
        if not keep_folder:
            shutil.rmtree(folder, ignore_errors=True)


def run_command(argv):
    """`python -m lineprof attach ...`; returns the exit status."""
    options = _parser().parse_args(argv)
    try:
        outfile = attach(options.pid, options.functions, options.targets, options.seconds,
                         options.outfile, options.start_timeout,
                         say=lambda text: sys.stderr.write("%s: %s\n" % (PROG, text)))
    except AttachError as error:
        sys.stderr.write("%s: %s\n" % (PROG, error))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return 130
    print("Wrote %s" % outfile)
    return 0
