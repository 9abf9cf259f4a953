/* The event backend for CPython 3.8-3.11: a C trace function installed with
 * PyEval_SetTrace, the mechanism behind sys.settrace.
 *
 * Keeping unprofiled code fast: the trace function is installed only while
 * it is needed (on one thread for the length of a decorated call, or on all
 * threads between enable() and disable()), and on the 'call' event of a
 * frame that is not profiled it switches that frame's line events off
 * (f_trace_lines = 0), so such a frame costs one call and one return event.
 *
 * Threads: enable() installs the trace function on every thread of the
 * interpreter (3.9+; on 3.8 CPython offers no safe way to reach another
 * thread's state, so threads already running are not traced there) and
 * registers a threading.settrace() hook for threads started later. */
#include "tracer.h"

#ifndef LP_USE_MONITORING

#include <frameobject.h>
#include <structmember.h>

#if PY_VERSION_HEX >= 0x030B0000
#include <opcode.h>

static inline PyObject *
frame_code(PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    Py_DECREF(code);            /* the frame keeps it alive */
    return (PyObject *)code;
}
#  define frame_line(frame) PyFrame_GetLineNumber(frame)
/* 3.11 gives the 'call' event at a RESUME instruction, for a new call and
 * for a generator going on alike: only the first RESUME starts a call. */
#  define frame_resumed(frame, entry) (PyFrame_GetLasti(frame) != (entry)->start_offset)
#else
#  define frame_code(frame) ((PyObject *)(frame)->f_code)
/* CPython sets f_lineno before calling the trace function. */
#  define frame_line(frame) ((frame)->f_lineno)
#  define frame_resumed(frame, entry) ((frame)->f_lasti >= 0)
#endif

/* wrap_trace: the trace function lineprof found on this thread gets the
 * event first, as if lineprof were not there. Returns what it returned, or
 * 1 if there is none. */
static int
pass_on(Dispatcher *dispatcher, PyFrameObject *frame, int what, PyObject *arg)
{
    ThreadStack *stack = lp_thread_stack(dispatcher);
    if (stack == NULL || stack->saved_tracefunc == NULL) {
        return 1;
    }
    return stack->saved_tracefunc(stack->saved_traceobj, frame, what, arg);
}

static int
trace_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    Dispatcher *dispatcher = (Dispatcher *)obj;
    int other = 1;      /* 1: no other trace function gets this event */
    if (dispatcher->wrap_trace && (other = pass_on(dispatcher, frame, what, arg)) < 0) {
        return -1;      /* its error: CPython stops tracing, as without lineprof */
    }
    if (what == PyTrace_LINE) {
        /* Only profiled frames get here: the others had lines switched off. */
        ThreadStack *stack = lp_event_begin(dispatcher);
        if (stack != NULL) {
            lp_on_line(dispatcher, stack, frame, frame_code(frame), frame_line(frame));
            lp_event_end(stack);
        }
        return 0;
    }
    if (what != PyTrace_CALL && what != PyTrace_RETURN) {
        return 0;
    }
    PyObject *code = frame_code(frame);
    /* With the GIL (3.8-3.11 have it), the registry is looked up before the
     * stack is marked: unprofiled frames then cost the least. */
    CodeEntry *entry = lp_registry_find(dispatcher, code);
    if (entry == NULL) {
        /* The other trace function may want this frame's lines. */
        if (what == PyTrace_CALL && dispatcher->trace_lines_offset >= 0 && other > 0) {
            *((char *)frame + dispatcher->trace_lines_offset) = 0;
        }
        return 0;
    }
    ThreadStack *stack = lp_event_begin(dispatcher);
    if (stack == NULL) {
        return 0;
    }
    if (what == PyTrace_CALL) {
        lp_on_start(dispatcher, stack, frame, code, entry,
                    frame_resumed(frame, entry) ? frame_line(frame) : -1);
    }
    else {  /* a return, a yield, or an exception leaving the frame */
        lp_on_exit(dispatcher, stack, frame, code);
    }
    lp_event_end(stack);
    return 0;
}

/* threading.settrace() hook: the first event of a new thread installs the
 * C trace function in place of sys.settrace's and is handled by it. */
static PyObject *
thread_hook(PyObject *obj, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs == 3 && PyFrame_Check(args[0])) {
        PyEval_SetTrace(trace_event, obj);
        trace_event(obj, (PyFrameObject *)args[0], PyTrace_CALL, Py_None);
    }
    Py_RETURN_NONE;
}

/* The dispatcher called as a Python trace function: sys.gettrace() gave it
 * to a program that then handed it back to sys.settrace (a debugger or
 * doctest saving and restoring the tracer). It puts the C trace function
 * back in place of sys.settrace's trampoline and handles the event. */
PyObject *
lp_dispatcher_call(PyObject *dispatcher, PyObject *args, PyObject *kwargs)
{
    static const struct { const char *name; int what; } events[] = {
        {"call", PyTrace_CALL}, {"line", PyTrace_LINE}, {"return", PyTrace_RETURN},
        {"exception", PyTrace_EXCEPTION}, {"opcode", PyTrace_OPCODE},
    };
    PyObject *frame, *arg;
    const char *event;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) {
        PyErr_SetString(PyExc_TypeError, "a trace function takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!sO:trace", &PyFrame_Type, &frame, &event, &arg)) {
        return NULL;
    }
    PyEval_SetTrace(trace_event, dispatcher);
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (strcmp(event, events[i].name) == 0) {
            trace_event(dispatcher, (PyFrameObject *)frame, events[i].what, arg);
            break;
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef thread_hook_def = {
    "lineprof_thread_hook", (PyCFunction)(void (*)(void))thread_hook, METH_FASTCALL,
    "Installs lineprof's trace function in a new thread."
};

static Py_ssize_t
find_trace_lines_offset(void)
{
    for (PyMemberDef *member = PyFrame_Type.tp_members; member && member->name; member++) {
        if (strcmp(member->name, "f_trace_lines") == 0 && member->type == T_BOOL) {
            return member->offset;
        }
    }
    return -1;
}

int
lp_backend_init(Dispatcher *dispatcher)
{
    dispatcher->trace_lines_offset = find_trace_lines_offset();
    dispatcher->saved_thread_hook = NULL;
    dispatcher->warned_replacing = 0;
    dispatcher->warned_replaced = 0;
    return 0;
}

void
lp_backend_clear(Dispatcher *dispatcher)
{
    Py_CLEAR(dispatcher->saved_thread_hook);
}

/* Another trace function (a debugger, coverage) on a thread lineprof is
 * about to trace: kept, to be put back when lineprof stops tracing there,
 * and said once, since it misses the events in between (unless wrap_trace
 * passes them on). */
static void
save_other_tracer(Dispatcher *dispatcher, ThreadStack *stack, PyThreadState *tstate)
{
    if (tstate->c_tracefunc == NULL || tstate->c_tracefunc == trace_event
            || stack->saved_tracefunc != NULL) {
        return;
    }
    stack->saved_tracefunc = tstate->c_tracefunc;
    Py_XINCREF(tstate->c_traceobj);
    Py_XSETREF(stack->saved_traceobj, tstate->c_traceobj);
    if (!dispatcher->warned_replacing && !dispatcher->wrap_trace) {
        dispatcher->warned_replacing = 1;
        PySys_WriteStderr("lineprof: another trace function (a debugger or coverage?) is "
                          "active; it is paused while lineprof traces, then restored\n");
    }
}

/* Whether the thread's trace function is someone else's: not lineprof's, and
 * not sys.settrace's trampoline still waiting to call lineprof's thread hook. */
static int
traced_by_another(PyThreadState *tstate)
{
    PyObject *obj = tstate->c_traceobj;
    int ours = tstate->c_tracefunc == trace_event
               || (obj != NULL && PyCFunction_Check(obj)
                   && PyCFunction_GET_FUNCTION(obj) == (PyCFunction)(void (*)(void))thread_hook);
    return tstate->c_tracefunc != NULL && !ours;
}

/* Removes lineprof's trace function from a thread, putting back what it
 * replaced there. If another tool replaced it meanwhile (sys.settrace from
 * a debugger or coverage), that one stays, and lineprof says once that the
 * lines run since were not profiled; what was collected before is kept. */
static int
stop_tracing(Dispatcher *dispatcher, PyThreadState *tstate, ThreadStack *stack)
{
    Py_tracefunc func = stack ? stack->saved_tracefunc : NULL;
    PyObject *obj = stack ? stack->saved_traceobj : NULL;
    int result = 0;
    if (traced_by_another(tstate)) {
        if (!dispatcher->warned_replaced) {
            dispatcher->warned_replaced = 1;
            PySys_WriteStderr("lineprof: another trace function (a debugger or coverage?) "
                              "replaced lineprof's while it profiled; lines run after that "
                              "were not profiled, the data before is kept\n");
        }
    }
    else {
#if PY_VERSION_HEX >= 0x03090000
        result = _PyEval_SetTrace(tstate, func, obj);
#else
        PyEval_SetTrace(func, obj);     /* 3.8 reaches only the calling thread */
#endif
    }
    if (stack != NULL) {
        stack->saved_tracefunc = NULL;
        Py_CLEAR(stack->saved_traceobj);
        lp_clear_stack(stack);
    }
    return result;
}

int
lp_backend_trace_thread(Dispatcher *dispatcher, ThreadStack *stack, int on)
{
    if (dispatcher->n_enabled > 0) {
        return 0;       /* every thread is traced already */
    }
    if (on) {
        save_other_tracer(dispatcher, stack, PyThreadState_Get());
        PyEval_SetTrace(trace_event, (PyObject *)dispatcher);
        return 0;
    }
    return stop_tracing(dispatcher, PyThreadState_Get(), stack);
}

static int
set_thread_hook(Dispatcher *dispatcher, int on)
{
    PyObject *threading;
    if (on) {
        threading = PyImport_ImportModule("threading");
    }
    else {
        /* Not imported, or gone (a profiler still enabled when the program
         * ends is stopped after sys.modules is cleared, and importing then
         * fails): no thread will start, nothing to put back. */
        PyObject *name = PyUnicode_FromString("threading");
        threading = name ? PyImport_GetModule(name) : NULL;
        Py_XDECREF(name);
        if (threading == NULL && !PyErr_Occurred()) {
            Py_CLEAR(dispatcher->saved_thread_hook);
            return 0;
        }
    }
    if (threading == NULL) {
        return -1;
    }
    PyObject *hook;
    if (on) {
        PyObject *saved = PyObject_GetAttrString(threading, "_trace_hook");
        if (saved == NULL) {
            Py_DECREF(threading);
            return -1;
        }
        Py_XSETREF(dispatcher->saved_thread_hook, saved);
        hook = PyCFunction_New(&thread_hook_def, (PyObject *)dispatcher);
    }
    else {
        hook = dispatcher->saved_thread_hook ? dispatcher->saved_thread_hook : Py_None;
        Py_INCREF(hook);
        Py_CLEAR(dispatcher->saved_thread_hook);
    }
    PyObject *result = hook ? PyObject_CallMethod(threading, "settrace", "O", hook) : NULL;
    Py_XDECREF(hook);
    Py_DECREF(threading);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

int
lp_backend_trace_all_threads(Dispatcher *dispatcher, int on)
{
    PyThreadState *current = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x03090000
    PyInterpreterState *interp = lp_interpreter_of(current);
    for (PyThreadState *tstate = PyInterpreterState_ThreadHead(interp); tstate != NULL;
            tstate = PyThreadState_Next(tstate)) {
#else
    for (PyThreadState *tstate = current; tstate != NULL; tstate = NULL) {
#endif
        ThreadStack *stack = lp_stack_of(dispatcher, tstate);
        if (stack == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (on) {
            save_other_tracer(dispatcher, stack, tstate);
#if PY_VERSION_HEX >= 0x03090000
            if (_PyEval_SetTrace(tstate, trace_event, (PyObject *)dispatcher) < 0) {
                return -1;
            }
#else
            PyEval_SetTrace(trace_event, (PyObject *)dispatcher);
#endif
        }
        else if (stack->by_count == 0 && stop_tracing(dispatcher, tstate, stack) < 0) {
            return -1;  /* (a decorated call running there keeps tracing) */
        }
    }
    return set_thread_hook(dispatcher, on);
}

int
lp_backend_instrument(Dispatcher *Py_UNUSED(dispatcher), CodeEntry *Py_UNUSED(entry), int Py_UNUSED(on))
{
    return 0;
}

int
lp_backend_init_entry(Dispatcher *Py_UNUSED(dispatcher), CodeEntry *entry)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *bytecode = PyCode_GetCode((PyCodeObject *)entry->code);
    if (bytecode == NULL) {
        return -1;
    }
    const unsigned char *units = (const unsigned char *)PyBytes_AS_STRING(bytecode);
    Py_ssize_t size = PyBytes_GET_SIZE(bytecode);
    entry->start_offset = -2;       /* never a frame's offset: every call is then a resume */
    for (Py_ssize_t offset = 0; offset + 1 < size; offset += 2) {
        if (units[offset] == RESUME) {
            entry->start_offset = (int)offset;
            break;
        }
    }
    Py_DECREF(bytecode);
#else
    (void)entry;
#endif
    return 0;
}

void
lp_backend_clear_entry(Dispatcher *Py_UNUSED(dispatcher), CodeEntry *Py_UNUSED(entry))
{
}

#else
typedef int lp_settrace_backend_unused;   /* ISO C wants a declaration */
#endif /* !LP_USE_MONITORING */
