"""Writing a process's profile when the process ends, however it ends.

A profiled process that lineprof did not start in the foreground (a child of
a kernprof job, or any process under LINEPROF_DIR) writes its own profile
when it ends:

- a normal end or sys.exit: an atexit handler;
- os._exit, which multiprocessing's workers end with (and which skips
  atexit): os._exit is wrapped while profiling is set up in the process;
- os.exec*: what ran before the exec is written first (os.execv and
  os.execve are wrapped; the other six call them); the new program, the same
  process, writes its own;
- SIGTERM, which Pool.terminate() and Process.terminate() send: a handler,
  installed only where SIGTERM had its default action, writes and then dies
  of the signal as the process would have (a handler the program sets later
  replaces it; the program's own exit then goes through atexit). CPython
  runs it in the main thread; the extension makes sure it does even when
  the main thread was just going into a blocking call (see
  lineprof/_tracer/signals.c), as an idle Pool worker is when terminated;
- os.fork(): the child starts with empty counts (what the parent measured
  is the parent's) and writes its own profile under its own pid.

SIGKILL leaves no chance to write: the job reports such a process by the
start mark it left (see lineprof.job).

The hooks are per process: ``ProcessWriter.install()`` sets them and
``uninstall()`` puts back what was there, except os.register_at_fork's
callback, which cannot be unregistered: it stays, and does nothing once no
writer is installed.
"""
import _signal as signal     # not 'signal', whose enums cost a job's child 5 ms to import
import atexit
import os
import sys
import time

from lineprof import _tracer

_installed = None           # the ProcessWriter of this process, if any
_real_exit = os._exit
_real_execv, _real_execve = os.execv, os.execve
_fork_hook_registered = False


class ProcessWriter:
    """Writes ``profiler``'s profile to ``path_for(writer)`` at the end of
    this process, with ``save(stats, path)`` (a .lprof file by default); not
    if it holds no hit, with ``skip_empty``. ``writes_here`` is False in the
    process that writes its own profile in the foreground (kernprof); its
    forked children write. ``on_fork`` is called in a forked child after the
    counts are cleared."""

    def __init__(self, profiler, path_for, writes_here=True, on_fork=None, skip_empty=False,
                 save=None):
        self.profiler = profiler
        self.save = save or (lambda stats, path: stats.to_file(path))
        self.skip_empty = skip_empty
        self.path_for = path_for
        self.writes_here = writes_here
        self.on_fork = on_fork
        self.pid = os.getpid()
        self.start_time = time.time()
        self._done = False
        self._writing = False
        self._sigterm_installed = False

    # ---- setting up and putting back --------------------------------------

    def install(self):
        global _installed, _fork_hook_registered
        _installed = self
        atexit.register(self._at_exit)
        os._exit = _exit_after_writing
        os.execv, os.execve = _execv_after_writing, _execve_after_writing
        if self.writes_here:
            self._install_sigterm()
        if not _fork_hook_registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook_registered = True

    def uninstall(self):
        global _installed
        if _installed is self:
            _installed = None
        atexit.unregister(self._at_exit)
        if os._exit is _exit_after_writing:
            os._exit = _real_exit
        if os.execv is _execv_after_writing:
            os.execv, os.execve = _real_execv, _real_execve
        if self._sigterm_installed and signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _tracer.signal_handled()
        self._sigterm_installed = False

    def _install_sigterm(self):
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
                self._sigterm_installed = True
                _tracer.resend_until_handled(signal.SIGTERM)
        except (ValueError, OSError):       # not the main thread: no handler
            pass

    # ---- writing ------------------------------------------------------------

    def write(self):
        """Writes this process's profile once (later calls do nothing)."""
        if not self.writes_here or self._done or self._writing:
            return
        self._writing = True
        try:
            stats = self.profiler.get_stats()
            if not (self.skip_empty and not any(hits for lines in stats.timings.values()
                                                for _, hits, _ in lines)):
                self.save(stats, self.path_for(self))
        except Exception as error:          # never raise into the ending program
            sys.stderr.write("lineprof: process %d could not write its profile: %s\n"
                             % (os.getpid(), getattr(error, "strerror", None) or error))
        finally:
            self._writing = False
            self._done = True

    def _at_exit(self):
        if os.getpid() == self.pid:
            self.write()

    def _after_fork(self):
        self.pid = os.getpid()
        self.start_time = time.time()
        self._done = self._writing = False
        self.writes_here = True
        self.profiler.clear()
        # The parent's handler, if it was ours, is inherited; if the parent
        # was kernprof (no handler), this child gets one.
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            self._sigterm_installed = True
            _tracer.resend_until_handled(signal.SIGTERM)   # for this main thread
        else:
            self._install_sigterm()
        if self.on_fork is not None:
            self.on_fork(self)


def _writing_first(end_process):
    """end_process (os._exit, os.execv, os.execve), after this process has
    written its profile."""
    def write_then_end(*args):
        writer = _installed
        if writer is not None and os.getpid() == writer.pid:
            writer.write()
            writer._done = False    # if an exec fails, the process goes on
        return end_process(*args)
    return write_then_end


_exit_after_writing = _writing_first(_real_exit)
_execv_after_writing = _writing_first(_real_execv)
_execve_after_writing = _writing_first(_real_execve)


def _on_sigterm(signum, frame):
    _tracer.signal_handled()
    writer = _installed
    if writer is not None and writer._writing:
        return      # the profile is being written at the process's end: let it finish
    if writer is not None and os.getpid() == writer.pid:
        writer.write()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _after_fork_in_child():
    writer = _installed
    if writer is not None:
        writer._after_fork()
