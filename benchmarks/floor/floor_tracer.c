/* The floor of a line tracer: the least a C tracer can do per line event and
 * still be a line profiler (read the clock, charge the previous line of one
 * code object, count a hit). No frame stack, no threads, no compensation.
 * Built with -DFLOOR_TWO_READS it reads the clock again on its way out, as
 * lineprof does so that a tracer's own time is never charged to a line.
 * benchmarks/floor.py measures it beside lineprof to show how far lineprof's
 * per-event cost is above what the interpreter itself costs. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <x86intrin.h>
#if PY_VERSION_HEX < 0x030C0000
#include <frameobject.h>
#endif

#define MAX_LINES 4096

static PyObject *target_code;
static uint64_t hits[MAX_LINES];
static uint64_t ticks[MAX_LINES];
static int previous_line = -1;
static uint64_t previous_time;

#ifdef FLOOR_TWO_READS
#  define LEAVING_TIME(now) __rdtsc()
#else
#  define LEAVING_TIME(now) (now)
#endif

/* A line event of the target code at time now: the whole of the work. */
static inline void
count_line(int line, uint64_t now)
{
    if (previous_line >= 0) {
        ticks[previous_line] += now - previous_time;
    }
    if (line >= 0 && line < MAX_LINES) {
        hits[line]++;
        previous_line = line;
    }
    previous_time = LEAVING_TIME(now);
}

#if PY_VERSION_HEX >= 0x030C0000
/* 3.12+: a sys.monitoring LINE callback local to the target code object. */
static PyObject *
line_event(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)self; (void)nargsf; (void)kwnames;
    uint64_t now = __rdtsc();
    count_line((int)PyLong_AsLong(args[1]), now);
    Py_RETURN_NONE;
}

typedef struct { PyObject_HEAD vectorcallfunc vectorcall; } Callback;
static PyTypeObject CallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "floor_tracer.Callback",
    .tp_basicsize = sizeof(Callback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Callback, vectorcall),
    .tp_call = PyVectorcall_Call,
};
#else
#if PY_VERSION_HEX < 0x03090000
static PyCodeObject *
PyFrame_GetCode(PyFrameObject *frame)
{
    Py_INCREF(frame->f_code);
    return frame->f_code;
}
#endif

static int
trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj; (void)arg;
    uint64_t now = __rdtsc();
    if (what == PyTrace_LINE && (PyObject *)PyFrame_GetCode(frame) == target_code) {
        Py_DECREF(target_code);     /* PyFrame_GetCode gave a new reference */
        count_line(PyFrame_GetLineNumber(frame), now);
    }
    else if (what == PyTrace_LINE) {
        Py_DECREF(PyFrame_GetCode(frame));
    }
    return 0;
}
#endif

/* start(code): line events of `code` are counted from now on. Before 3.12
 * this installs the trace function; on 3.12+ floor.py registers `callback`
 * with sys.monitoring for `code`. */
static PyObject *
start(PyObject *module, PyObject *code)
{
    (void)module;
    Py_INCREF(code);
    Py_XSETREF(target_code, code);
    memset(hits, 0, sizeof(hits));
    memset(ticks, 0, sizeof(ticks));
    previous_line = -1;
#if PY_VERSION_HEX < 0x030C0000
    PyEval_SetTrace(trace, NULL);
#endif
    Py_RETURN_NONE;
}

/* stop() -> the number of line events counted */
static PyObject *
stop(PyObject *module, PyObject *unused)
{
    (void)module; (void)unused;
#if PY_VERSION_HEX < 0x030C0000
    PyEval_SetTrace(NULL, NULL);
#endif
    uint64_t total = 0;
    for (int i = 0; i < MAX_LINES; i++) {
        total += hits[i];
    }
    return PyLong_FromUnsignedLongLong(total);
}

static PyMethodDef methods[] = {
    {"start", start, METH_O, "start(code): trace line events of code only"},
    {"stop", stop, METH_NOARGS, "stop() -> the number of line events seen"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "floor_tracer", NULL, -1, methods};

PyMODINIT_FUNC
PyInit_floor_tracer(void)
{
    PyObject *m = PyModule_Create(&module);
#if PY_VERSION_HEX >= 0x030C0000
    if (m == NULL || PyType_Ready(&CallbackType) < 0) {
        Py_XDECREF(m);
        return NULL;
    }
    Callback *callback = PyObject_New(Callback, &CallbackType);
    if (callback == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    callback->vectorcall = line_event;
    if (PyModule_AddObject(m, "callback", (PyObject *)callback) < 0) {
        Py_DECREF(callback);
        Py_DECREF(m);
        return NULL;
    }
#endif
    return m;
}
