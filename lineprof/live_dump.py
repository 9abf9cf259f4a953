"""A live dump: on a signal, the process writes its profile so far and goes on.

LINEPROF_DUMP_SIGNAL=SIGUSR1 (or lineprof.profile.dump_on_signal()) sets a
handler that writes the profile to the file the process would write at exit:
profile_output.lprof (or its prefix) under LINEPROF=1, the process's file
under LINEPROF_DIR, kernprof's output file under `kernprof -i` (through the
periodic writer, lineprof.periodic). The write is atomic (a temporary file
renamed over the previous one), so `lineprof show` can read it at any time.

CPython runs the handler in the main thread, between bytecodes, as
process_exit.py's SIGTERM handler: the tracer's lock is re-entrant on its
thread (tracer.h, lock_depth), so reading the counts from the handler cannot
wait on the thread it interrupted; a signal that comes while a dump is being
written is dropped (that dump is the answer to it).
"""
import _signal as signal     # as process_exit: not 'signal', whose enums cost time to import
import os
import sys

_write = None               # what the handler calls: writes the profile so far
_source = None              # "explicit" (lineprof.profile) or "periodic" (kernprof -i)
_writing = False
_signum = None


def signal_number(value):
    """A signal number from 10, 'SIGUSR1' or 'USR1'; ValueError otherwise."""
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().upper()
        if text.isdigit():
            number = int(text)
        else:
            number = getattr(signal, text if text.startswith("SIG") else "SIG" + text, None)
            if not isinstance(number, int) or text in ("SIG_DFL", "SIG_IGN"):
                raise ValueError("%r is not a signal name" % (value,))
    if number in (getattr(signal, "SIGKILL", -1), getattr(signal, "SIGSTOP", -1)) or \
            not 0 < number < getattr(signal, "NSIG", 65):
        raise ValueError("signal %r cannot be handled" % (value,))
    return number


def set_writer(write, source):
    """write() is what a dump does from now on (None: nothing to write).
    kernprof's periodic writer takes precedence over lineprof.profile's."""
    global _write, _source
    if write is None:
        if _source == source:
            _write, _source = None, None
    elif source == "periodic" or _source != "periodic":
        _write, _source = write, source


def install(signum):
    """Dumps on signum from now on (main thread only: ValueError otherwise)."""
    global _signum
    signal.signal(signum, _on_signal)
    _signum = signum


def install_from_environment():
    """LINEPROF_DUMP_SIGNAL, if set: a bad value is a one-line warning."""
    text = os.environ.get("LINEPROF_DUMP_SIGNAL", "").strip()
    if not text or _signum is not None:
        return
    try:
        install(signal_number(text))
    except (ValueError, OSError) as error:
        sys.stderr.write("lineprof: LINEPROF_DUMP_SIGNAL=%s: %s; no live dumps\n"
                         % (text, "not the main thread" if "main thread" in str(error)
                            else error))


def dump():
    """Writes the profile so far, if this process has one to write."""
    global _writing
    if _writing or _write is None:
        return
    _writing = True
    try:
        _write()
    except Exception as error:          # never raise into the program
        sys.stderr.write("lineprof: could not write the profile: %s\n"
                         % (getattr(error, "strerror", None) or error))
    finally:
        _writing = False


def _on_signal(signum, frame):
    dump()
