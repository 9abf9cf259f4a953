/* A signal for the main thread, wherever the kernel delivers it.
 *
 * A signal sent to a process lands on any one of its threads that does not
 * block it. CPython runs Python-level handlers in the main thread only, and
 * only a signal that lands on the main thread interrupts what it waits in
 * (time.sleep, a lock, a read): one that lands on another thread (a
 * multiprocessing Queue's feeder, say) waits until the main thread next runs
 * bytecode, which can be minutes. SIGTERM killed such a process at once; the
 * handler a profiled child sets to write its profile (lineprof.process_exit)
 * must not make it wait.
 *
 * So, under CPython's own handler, this module installs one that sends the
 * signal on to the main thread when it lands elsewhere, and calls CPython's
 * handler when it lands there. The state is per process, as signal
 * dispositions are: there is no per-interpreter or per-thread place for it.
 * signal.signal() for the same signal replaces the whole arrangement. */
#include "tracer.h"

#ifndef _WIN32
#include <errno.h>
#include <pthread.h>
#include <signal.h>

static pthread_t forward_main_thread;
static struct sigaction forward_previous[NSIG];

static void
forward_to_main_thread(int signum)
{
    int saved_errno = errno;
    if (!pthread_equal(pthread_self(), forward_main_thread)) {
        pthread_kill(forward_main_thread, signum);
    }
    else {
        void (*handler)(int) = forward_previous[signum].sa_handler;
        if (handler != SIG_DFL && handler != SIG_IGN) {
            handler(signum);
        }
    }
    errno = saved_errno;
}

/* forward_signal(signum): from the main thread, after signal.signal(signum,
 * a Python handler). Again after os.fork(), in the child, whose main thread
 * is the one that forked. */
PyObject *
lp_forward_signal(PyObject *Py_UNUSED(module), PyObject *arg)
{
    long number = PyLong_AsLong(arg);
    if (number == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (number < 1 || number >= NSIG) {
        PyErr_Format(PyExc_ValueError, "signal number out of range: %ld", number);
        return NULL;
    }
    int signum = (int)number;
    struct sigaction current;
    if (sigaction(signum, NULL, &current) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    forward_main_thread = pthread_self();
    if (current.sa_handler == forward_to_main_thread) {
        Py_RETURN_NONE;         /* installed already (in the parent of a fork) */
    }
    if (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN
            || (current.sa_flags & SA_SIGINFO)) {
        PyErr_Format(PyExc_RuntimeError, "signal %d has no Python handler to forward to", signum);
        return NULL;
    }
    struct sigaction forward = current;     /* CPython's flags and mask */
    forward.sa_handler = forward_to_main_thread;
    forward_previous[signum] = current;
    if (sigaction(signum, &forward, NULL) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}
#endif
