/* A Python-level signal handler that runs, however the main thread waits.
 *
 * A job's child writes its profile from a SIGTERM handler (lineprof's
 * process_exit.py), where SIGTERM used to kill it at once. CPython runs a
 * Python-level handler in the main thread, when it next checks between
 * bytecodes or when a blocking call it is in fails with EINTR. A signal that
 * lands in the instant after the main thread released the GIL and before it
 * entered the blocking call (a Pool worker going back to wait for a task,
 * just as Pool.terminate() sends SIGTERM) interrupts nothing: the handler
 * waits for the call to return, which for an idle worker is never, and
 * terminate() hangs. A signal that lands on another thread does not
 * interrupt the main thread either.
 *
 * So, under CPython's handler, this installs one that sends the signal on to
 * the main thread when it lands elsewhere, and on the main thread calls
 * CPython's handler and arms a timer that sends the signal to the main
 * thread again every few milliseconds, until the Python handler says it has
 * run (signal_handled). The state is per process, as signal dispositions
 * are: there is no per-interpreter or per-thread place for it.
 * signal.signal() for the same signal replaces the whole arrangement. */
#include "tracer.h"

#ifndef _WIN32
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

#define RESEND_INTERVAL_NS (10 * 1000 * 1000)

static pthread_t main_thread;
static struct sigaction cpython_handler;
#ifdef __linux__
static timer_t resend_timer;
static int have_resend_timer;
#endif

static void
arm_resend_timer(long interval_ns)
{
#ifdef __linux__
    if (have_resend_timer) {
        struct itimerspec every = {{0, interval_ns}, {0, interval_ns}};
        timer_settime(resend_timer, 0, &every, NULL);    /* async-signal-safe */
    }
#else
    (void)interval_ns;
#endif
}

static void
on_signal(int signum)
{
    int saved_errno = errno;
    if (!pthread_equal(pthread_self(), main_thread)) {
        pthread_kill(main_thread, signum);
    }
    else {
        void (*handler)(int) = cpython_handler.sa_handler;
        if (handler != SIG_DFL && handler != SIG_IGN) {
            handler(signum);
        }
        arm_resend_timer(RESEND_INTERVAL_NS);
    }
    errno = saved_errno;
}

#ifdef __linux__
/* A timer that sends signum to this thread (the main one). */
static int
make_resend_timer(int signum)
{
    if (have_resend_timer) {
        timer_delete(resend_timer);
        have_resend_timer = 0;
    }
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signum;
#ifdef sigev_notify_thread_id
    event.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
#else
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
#endif
    if (timer_create(CLOCK_MONOTONIC, &event, &resend_timer) < 0) {
        return -1;
    }
    have_resend_timer = 1;
    return 0;
}
#endif

/* resend_until_handled(signum): from the main thread, just after
 * signal.signal(signum, a Python handler); again in a forked child, whose
 * main thread is the one that forked and which has no timer of its own. */
PyObject *
lp_resend_until_handled(PyObject *Py_UNUSED(module), PyObject *arg)
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
    if (current.sa_handler != on_signal && (current.sa_handler == SIG_DFL
            || current.sa_handler == SIG_IGN || (current.sa_flags & SA_SIGINFO))) {
        PyErr_Format(PyExc_RuntimeError, "signal %d has no Python handler", signum);
        return NULL;
    }
    main_thread = pthread_self();
#ifdef __linux__
    if (make_resend_timer(signum) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
#endif
    if (current.sa_handler == on_signal) {
        Py_RETURN_NONE;         /* installed already: the parent of a fork did it */
    }
    struct sigaction replacement = current;     /* CPython's flags and mask */
    replacement.sa_handler = on_signal;
    cpython_handler = current;
    if (sigaction(signum, &replacement, NULL) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

/* signal_handled(): the Python handler has run; no more resending. */
PyObject *
lp_signal_handled(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    arm_resend_timer(0);
    Py_RETURN_NONE;
}
#endif
