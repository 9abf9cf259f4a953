/* Event handlers that do nothing: what profiling costs before the tool does
 * any work of its own (CPython stopping at the event, boxing its arguments,
 * calling the handler). A benchmark tool (benchmarks/whole_program.py's
 * "floor"), not part of lineprof.
 *
 * 3.12+: Callback(result), a callable whose vectorcall returns result at once
 * (None, or sys.monitoring.DISABLE for the jumps that lineprof disables too),
 * for sys.monitoring.
 * 3.8-3.11: settrace(codes), a C trace function (PyEval_SetTrace) that, as
 * lineprof's does, switches off the line events of a frame whose code is not
 * one of codes at its 'call' event, and returns at once otherwise. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>

#if PY_VERSION_HEX < 0x030900B1
#  define PyFrame_GetCode(frame) (Py_INCREF((frame)->f_code), (frame)->f_code)
#endif

static PyObject *
new_ref(PyObject *object)
{
    Py_INCREF(object);
    return object;
}

/* The codes to trace, by address: open addressing, never more than half full. */
enum { CODES_CAPACITY = 1 << 14 };
static PyObject *codes[CODES_CAPACITY];
static Py_ssize_t trace_lines_offset = -1;

static size_t
code_slot(PyObject *code)
{
    return ((uintptr_t)code >> 4) & (CODES_CAPACITY - 1);
}

static int
traced(PyObject *code)
{
    for (size_t i = code_slot(code);; i = (i + 1) & (CODES_CAPACITY - 1)) {
        if (codes[i] == code) {
            return 1;
        }
        if (codes[i] == NULL) {
            return 0;
        }
    }
}

static int
trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    if (what == PyTrace_CALL) {
        PyCodeObject *code = PyFrame_GetCode(frame);
        Py_DECREF(code);
        if (!traced((PyObject *)code)) {
            *((char *)frame + trace_lines_offset) = 0;
        }
    }
    return 0;
}

static PyObject *
settrace(PyObject *module, PyObject *list)
{
    (void)module;
    for (PyMemberDef *member = PyFrame_Type.tp_members; member && member->name; member++) {
        if (strcmp(member->name, "f_trace_lines") == 0) {
            trace_lines_offset = member->offset;
        }
    }
    if (!PyList_Check(list) || PyList_GET_SIZE(list) > CODES_CAPACITY / 2 || trace_lines_offset < 0) {
        PyErr_SetString(PyExc_ValueError, "settrace(list of codes): too many, or no f_trace_lines");
        return NULL;
    }
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(list); j++) {
        PyObject *code = PyList_GET_ITEM(list, j);
        size_t i = code_slot(code);
        while (codes[i] != NULL && codes[i] != code) {
            i = (i + 1) & (CODES_CAPACITY - 1);
        }
        codes[i] = new_ref(code);
    }
    PyEval_SetTrace(trace, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"settrace", settrace, METH_O, "settrace(codes): trace the lines of these codes only"},
    {NULL, NULL, 0, NULL},
};

#if PY_VERSION_HEX >= 0x030C0000
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *result;
} Callback;

static PyObject *
callback_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)args;
    (void)nargsf;
    (void)kwnames;
    return new_ref(((Callback *)self)->result);
}

static PyObject *
callback_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *result;
    if (!PyArg_ParseTuple(args, "O", &result)) {
        return NULL;
    }
    (void)kwargs;
    Callback *self = (Callback *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->vectorcall = callback_call;
        self->result = new_ref(result);
    }
    return (PyObject *)self;
}

static void
callback_dealloc(Callback *self)
{
    Py_XDECREF(self->result);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef callback_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Callback, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject CallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_nulltool.Callback",
    .tp_basicsize = sizeof(Callback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = callback_new,
    .tp_dealloc = (destructor)callback_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Callback, vectorcall),
    .tp_members = callback_members,
};
#endif

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_nulltool", .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__nulltool(void)
{
    PyObject *mod = PyModule_Create(&module);
#if PY_VERSION_HEX >= 0x030C0000
    if (mod != NULL && (PyType_Ready(&CallbackType) < 0
                        || PyModule_AddObjectRef(mod, "Callback", (PyObject *)&CallbackType) < 0)) {
        Py_CLEAR(mod);
    }
#endif
    return mod;
}
