/* The event backend for CPython 3.12+: sys.monitoring (PEP 669).
 *
 * lineprof holds one tool id while any code is instrumented (PROFILER_ID if
 * it is free, else another free id) and sets local events on the profiled
 * code objects only, so all other code runs at full speed. The callbacks
 * are C functions that sys.monitoring calls through vectorcall.
 *
 * PY_UNWIND and PY_THROW are local events from 3.15 on (gh-142186) and set
 * on the profiled code only. Before, they can only be set globally: their
 * callbacks return at once for code that is not profiled, and they only
 * fire when an exception leaves a frame or is thrown into a generator.
 *
 * Hit counts follow sys.settrace: a LINE event is a hit, and so is a
 * backward jump to the same line (a one-line loop, an inlined
 * comprehension), which sys.monitoring reports as a JUMP, not a LINE. */
#include "tracer.h"

#ifdef LP_USE_MONITORING

#include <stddef.h>
#include <structmember.h>

enum {
    PREFERRED_TOOL_ID = 2,      /* sys.monitoring.PROFILER_ID */
    N_TOOL_IDS = 6,
};

/* The events, by their names in sys.monitoring.events; their values are read
 * at start-up rather than assumed. */
typedef enum {   /* at most 16: Dispatcher.event_bits */
    EV_PY_START, EV_PY_RESUME, EV_PY_RETURN, EV_PY_YIELD, EV_LINE, EV_JUMP,
    EV_BRANCH, EV_BRANCH_LEFT, EV_BRANCH_RIGHT, EV_PY_UNWIND, EV_PY_THROW, N_EVENTS
} EventKind;

static const char *const event_names[N_EVENTS] = {
    "PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "LINE", "JUMP",
    "BRANCH", "BRANCH_LEFT", "BRANCH_RIGHT", "PY_UNWIND", "PY_THROW",
};

/* A line number or an offset: a small int, read without a call. */
static inline long
small_long(PyObject *number)
{
    if (PyLong_CheckExact(number) && PyUnstable_Long_IsCompact((PyLongObject *)number)) {
        return (long)PyUnstable_Long_CompactValue((PyLongObject *)number);
    }
    long value = PyLong_AsLong(number);
    if (value == -1) {
        PyErr_Clear();
    }
    return value;
}

static int
unit_line(const CodeEntry *entry, PyObject *offset_object)
{
    long offset = small_long(offset_object);
    long unit = offset / 2;     /* byte offset to code unit */
    if (offset < 0 || unit >= entry->n_units) {
        return -1;
    }
    return entry->line_of_unit[unit];
}

/* A callback: a callable whose vectorcall is the event's handler, so that
 * sys.monitoring calls straight into it (cheaper than a builtin method). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Dispatcher *dispatcher;         /* strong */
} EventCallback;

/* Each callback brackets its work with lp_event_begin/lp_event_end, looks
 * the code up and hands the event to tracer.h. */
#define BEGIN_EVENT(min_args)                                                   \
    Dispatcher *dispatcher = ((EventCallback *)callable)->dispatcher;           \
    if (PyVectorcall_NARGS(nargsf) < (min_args)) {                              \
        Py_RETURN_NONE;                                                         \
    }                                                                           \
    ThreadStack *stack = lp_event_begin(dispatcher);                            \
    if (stack == NULL) {                                                        \
        Py_RETURN_NONE;                                                         \
    }                                                                           \
    PyObject *code = args[0];

#define LOOKUP_OR_END                                                           \
    CodeEntry *entry = lp_registry_find(dispatcher, code);                      \
    if (entry == NULL) {                                                        \
        lp_event_end(stack);                                                    \
        Py_RETURN_NONE;                                                         \
    }

static PyObject *
on_py_start(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *Py_UNUSED(kwnames))
{
    BEGIN_EVENT(2)
    LOOKUP_OR_END
    lp_on_start(dispatcher, stack, NULL, code, entry, -1);
    lp_event_end(stack);
    Py_RETURN_NONE;
}

/* PY_RESUME and PY_THROW: a generator or coroutine goes on. */
static PyObject *
on_py_resume(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *Py_UNUSED(kwnames))
{
    BEGIN_EVENT(2)
    LOOKUP_OR_END
    lp_on_start(dispatcher, stack, NULL, code, entry, unit_line(entry, args[1]));
    lp_event_end(stack);
    Py_RETURN_NONE;
}

/* PY_RETURN and PY_YIELD: local events, of profiled code only, so that the
 * registry need not be asked; lp_on_exit finds the frame's record. */
static PyObject *
on_py_exit(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *Py_UNUSED(kwnames))
{
    BEGIN_EVENT(2)
    lp_on_exit(dispatcher, stack, NULL, code);
    lp_event_end(stack);
    Py_RETURN_NONE;
}

/* PY_UNWIND: global before 3.15, so most frames it reports are not
 * profiled: a registry lookup rules them out sooner than a search of the
 * stack. */
static PyObject *
on_py_unwind(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *Py_UNUSED(kwnames))
{
    BEGIN_EVENT(2)
    LOOKUP_OR_END
    lp_on_exit(dispatcher, stack, NULL, code);
    lp_event_end(stack);
    Py_RETURN_NONE;
}

static PyObject *
on_line(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *Py_UNUSED(kwnames))
{
    BEGIN_EVENT(2)
    long line = small_long(args[1]);
    if (line >= 0) {
        lp_on_line(dispatcher, stack, NULL, code, (int)line);
    }
    lp_event_end(stack);
    Py_RETURN_NONE;
}

/* JUMP and the branches: only a backward jump to the same line is a hit;
 * every other jump is disabled for good at its location, as it never will
 * be. */
static PyObject *
on_jump(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *Py_UNUSED(kwnames))
{
    BEGIN_EVENT(3)
    LOOKUP_OR_END
    long from = small_long(args[1]);
    long to = small_long(args[2]);
    int to_line = unit_line(entry, args[2]);
    if (from >= 0 && to >= 0 && to <= from && to_line >= 0 && to_line == unit_line(entry, args[1])) {
        lp_on_line(dispatcher, stack, NULL, code, to_line);
    }
    else if (from >= 0 && to >= 0) {
        lp_event_end(stack);
        Py_INCREF(dispatcher->disable);
        return dispatcher->disable;
    }
    lp_event_end(stack);
    Py_RETURN_NONE;
}

static const vectorcallfunc handlers[N_EVENTS] = {
    [EV_PY_START] = on_py_start,
    [EV_PY_RESUME] = on_py_resume,
    [EV_PY_RETURN] = on_py_exit,
    [EV_PY_YIELD] = on_py_exit,
    [EV_LINE] = on_line,
    [EV_JUMP] = on_jump,
    [EV_BRANCH] = on_jump,
    [EV_BRANCH_LEFT] = on_jump,
    [EV_BRANCH_RIGHT] = on_jump,
    [EV_PY_UNWIND] = on_py_unwind,
    [EV_PY_THROW] = on_py_resume,
};

static void
callback_dealloc(EventCallback *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_XDECREF(self->dispatcher);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyMemberDef callback_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(EventCallback, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot callback_slots[] = {
    {Py_tp_dealloc, (void *)callback_dealloc},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_members, callback_members},
    {Py_tp_doc, "lineprof's sys.monitoring callback (internal)."},
    {0, NULL},
};

static PyType_Spec callback_spec = {
    .name = "lineprof._tracer.EventCallback",
    .basicsize = sizeof(EventCallback),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = callback_slots,
};

static PyObject *
new_callback(Dispatcher *dispatcher, vectorcallfunc handler)
{
    PyTypeObject *type = (PyTypeObject *)dispatcher->callback_type;
    EventCallback *callback = (EventCallback *)type->tp_alloc(type, 0);
    if (callback == NULL) {
        return NULL;
    }
    callback->vectorcall = handler;
    Py_INCREF(dispatcher);
    callback->dispatcher = dispatcher;
    return (PyObject *)callback;
}

/* The events sys.monitoring gives this Python, as bit masks; 0 for one it
 * does not have. From 3.14 BRANCH is deprecated in favour of BRANCH_LEFT and
 * BRANCH_RIGHT: where those exist, BRANCH is not even looked up. */
static int
read_event_bits(PyObject *monitoring, long bits[N_EVENTS])
{
    PyObject *events = PyObject_GetAttrString(monitoring, "events");
    if (events == NULL) {
        return -1;
    }
    int split_branches = PyObject_HasAttrString(events, "BRANCH_LEFT");
    for (int i = 0; i < N_EVENTS; i++) {
        if (i == EV_BRANCH && split_branches) {
            bits[i] = 0;
            continue;
        }
        PyObject *value = PyObject_GetAttrString(events, event_names[i]);
        if (value == NULL) {
            PyErr_Clear();
            bits[i] = 0;
            continue;
        }
        bits[i] = PyLong_AsLong(value);
        Py_DECREF(value);
        if (bits[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(events);
            return -1;
        }
    }
    Py_DECREF(events);
    return 0;
}

#if PY_VERSION_HEX >= 0x030F0000
#  define LOCAL_EXCEPTION_EVENTS 1
#else
#  define LOCAL_EXCEPTION_EVENTS 0
#endif

static long
exception_events(const long bits[N_EVENTS])
{
    return bits[EV_PY_UNWIND] | bits[EV_PY_THROW];
}

static long
local_event_set(const long bits[N_EVENTS])
{
    return bits[EV_PY_START] | bits[EV_PY_RESUME] | bits[EV_PY_RETURN] | bits[EV_PY_YIELD]
           | bits[EV_LINE] | bits[EV_JUMP] | bits[EV_BRANCH] | bits[EV_BRANCH_LEFT]
           | bits[EV_BRANCH_RIGHT] | (LOCAL_EXCEPTION_EVENTS ? exception_events(bits) : 0);
}

static int
register_callbacks(Dispatcher *dispatcher, const long bits[N_EVENTS], int on)
{
    for (int i = 0; i < N_EVENTS; i++) {
        if (bits[i] == 0) {
            continue;
        }
        PyObject *callback = on ? new_callback(dispatcher, handlers[i]) : Py_None;
        if (callback == NULL) {
            return -1;
        }
        if (!on) {
            Py_INCREF(callback);
        }
        PyObject *old = PyObject_CallFunction(dispatcher->register_callback, "ilO",
                                            dispatcher->tool_id, bits[i], callback);
        Py_DECREF(callback);
        if (old == NULL) {
            return -1;
        }
        Py_DECREF(old);
    }
    return 0;
}

static int
acquire_tool_id(Dispatcher *dispatcher)
{
    static const int order[N_TOOL_IDS] = {PREFERRED_TOOL_ID, 3, 4, 5, 0, 1};
    for (int i = 0; i < N_TOOL_IDS; i++) {
        PyObject *holder = PyObject_CallFunction(dispatcher->get_tool, "i", order[i]);
        if (holder == NULL) {
            return -1;
        }
        int taken = holder != Py_None;
        Py_DECREF(holder);
        if (taken) {
            continue;
        }
        PyObject *result = PyObject_CallFunction(dispatcher->use_tool_id, "is",
                                               order[i], "lineprof");
        if (result == NULL) {
            return -1;
        }
        Py_DECREF(result);
        dispatcher->tool_id = order[i];
        return 0;
    }
    PyErr_SetString(PyExc_RuntimeError,
                    "lineprof: every sys.monitoring tool id (0-5) is taken by other tools");
    return -1;
}

static int
set_global_events(Dispatcher *dispatcher, long events)
{
    PyObject *result = PyObject_CallFunction(dispatcher->set_events, "il",
                                           dispatcher->tool_id, events);
    Py_XDECREF(result);
    return result ? 0 : -1;
}

static void
release_tool_id(Dispatcher *dispatcher)
{
    if (dispatcher->tool_id < 0) {
        return;
    }
    if (set_global_events(dispatcher, 0) < 0
            || register_callbacks(dispatcher, dispatcher->event_bits, 0) < 0) {
        PyErr_WriteUnraisable(NULL);
    }
    PyObject *result = PyObject_CallFunction(dispatcher->free_tool_id, "i",
                                           dispatcher->tool_id);
    if (result == NULL) {
        PyErr_WriteUnraisable(NULL);
    }
    Py_XDECREF(result);
    dispatcher->tool_id = -1;
    lp_forget_records(dispatcher);      /* no code is instrumented now */
}

static int
claim_tool_id(Dispatcher *dispatcher, const long bits[N_EVENTS])
{
    if (acquire_tool_id(dispatcher) < 0) {
        return -1;
    }
    if (register_callbacks(dispatcher, bits, 1) < 0
            || set_global_events(dispatcher, LOCAL_EXCEPTION_EVENTS ? 0 : exception_events(bits)) < 0) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        release_tool_id(dispatcher);
        PyErr_Restore(type, value, traceback);
        return -1;
    }
    return 0;
}

int
lp_backend_instrument(Dispatcher *dispatcher, CodeEntry *entry, int on)
{
    const long *bits = dispatcher->event_bits;
    if (entry->instrumented == on) {
        return 0;
    }
    if (on && dispatcher->n_instrumented == 0 && claim_tool_id(dispatcher, bits) < 0) {
        return -1;
    }
    PyObject *result = PyObject_CallFunction(dispatcher->set_local_events, "iOl",
                                           dispatcher->tool_id, entry->code,
                                           on ? local_event_set(bits) : 0L);
    if (result == NULL && on) {
        if (dispatcher->n_instrumented == 0) {
            release_tool_id(dispatcher);
        }
        return -1;
    }
    /* Clearing that failed (another tool freed lineprof's tool id) counts as
     * done: lineprof must not hold on to a tool id it can no longer use. */
    Py_XDECREF(result);
    entry->instrumented = on;
    dispatcher->n_instrumented += on ? 1 : -1;
    if (dispatcher->n_instrumented == 0) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        release_tool_id(dispatcher);
        PyErr_Restore(type, value, traceback);
    }
    return result != NULL ? 0 : -1;
}

/* The line of every code unit, from co_lines(), for the events that give an
 * offset rather than a line. */
int
lp_backend_init_entry(Dispatcher *Py_UNUSED(dispatcher), CodeEntry *entry)
{
    PyObject *bytecode = lp_getattr(entry->code, "co_code");
    if (bytecode == NULL) {
        return -1;
    }
    Py_ssize_t n_units = PyBytes_Size(bytecode) / 2;
    Py_DECREF(bytecode);
    if (n_units < 0) {
        return -1;
    }
    int *line_of_unit = PyMem_RawMalloc((size_t)(n_units ? n_units : 1) * sizeof(int));
    if (line_of_unit == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n_units; i++) {
        line_of_unit[i] = -1;
    }
    PyObject *co_lines = lp_getattr(entry->code, "co_lines");
    PyObject *ranges = co_lines ? PyObject_CallNoArgs(co_lines) : NULL;
    Py_XDECREF(co_lines);
    PyObject *iterator = ranges ? PyObject_GetIter(ranges) : NULL;
    Py_XDECREF(ranges);
    if (iterator == NULL) {
        PyMem_RawFree(line_of_unit);
        return -1;
    }
    PyObject *item;
    while ((item = PyIter_Next(iterator)) != NULL) {
        long start, end;
        PyObject *line;
        int ok = PyArg_ParseTuple(item, "llO", &start, &end, &line);
        long lineno = (ok && line != Py_None) ? PyLong_AsLong(line) : -1;
        Py_DECREF(item);
        if (!ok || PyErr_Occurred()) {
            break;
        }
        for (long unit = start / 2; unit < end / 2 && unit < n_units; unit++) {
            if (unit >= 0) {
                line_of_unit[unit] = (int)lineno;
            }
        }
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        PyMem_RawFree(line_of_unit);
        return -1;
    }
    entry->n_units = (int)n_units;
    entry->line_of_unit = line_of_unit;
    return 0;
}

void
lp_backend_clear_entry(Dispatcher *dispatcher, CodeEntry *entry)
{
    /* A thread inside an event may still read it. */
    if (lp_retire(dispatcher, entry->line_of_unit) < 0) {
        return;     /* kept for good */
    }
    entry->line_of_unit = NULL;
}

int
lp_backend_init(Dispatcher *dispatcher)
{
    dispatcher->tool_id = -1;
    PyObject *monitoring = PySys_GetObject("monitoring");   /* borrowed */
    if (monitoring == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "lineprof: sys.monitoring is missing");
        return -1;
    }
    Py_INCREF(monitoring);
    dispatcher->monitoring = monitoring;
    dispatcher->disable = PyObject_GetAttrString(monitoring, "DISABLE");
    dispatcher->register_callback = PyObject_GetAttrString(monitoring, "register_callback");
    dispatcher->get_tool = PyObject_GetAttrString(monitoring, "get_tool");
    dispatcher->use_tool_id = PyObject_GetAttrString(monitoring, "use_tool_id");
    dispatcher->free_tool_id = PyObject_GetAttrString(monitoring, "free_tool_id");
    dispatcher->set_events = PyObject_GetAttrString(monitoring, "set_events");
    dispatcher->set_local_events = PyObject_GetAttrString(monitoring, "set_local_events");
    dispatcher->callback_type = PyType_FromSpec(&callback_spec);
    if (dispatcher->disable == NULL || dispatcher->register_callback == NULL
            || dispatcher->get_tool == NULL || dispatcher->use_tool_id == NULL
            || dispatcher->free_tool_id == NULL || dispatcher->set_events == NULL
            || dispatcher->set_local_events == NULL || dispatcher->callback_type == NULL) {
        return -1;
    }
    return read_event_bits(monitoring, dispatcher->event_bits);
}

void
lp_backend_clear(Dispatcher *dispatcher)
{
    Py_CLEAR(dispatcher->monitoring);
    Py_CLEAR(dispatcher->disable);
    Py_CLEAR(dispatcher->register_callback);
    Py_CLEAR(dispatcher->get_tool);
    Py_CLEAR(dispatcher->use_tool_id);
    Py_CLEAR(dispatcher->free_tool_id);
    Py_CLEAR(dispatcher->set_events);
    Py_CLEAR(dispatcher->set_local_events);
    Py_CLEAR(dispatcher->callback_type);
}

int
lp_backend_trace_thread(Dispatcher *Py_UNUSED(dispatcher), ThreadStack *Py_UNUSED(stack),
                        int Py_UNUSED(on))
{
    return 0;   /* sys.monitoring sees every thread */
}

int
lp_backend_trace_all_threads(Dispatcher *Py_UNUSED(dispatcher), int Py_UNUSED(on))
{
    return 0;
}

#else
typedef int lp_monitoring_backend_unused;   /* ISO C wants a declaration */
#endif /* LP_USE_MONITORING */
