/* ProfiledFunction: what @profile returns for a plain function (3.9+).
 *
 * It calls enable() before each call and disable() after it, however the
 * call ends, like the Python wrapper it replaces, but without a Python frame
 * of its own: no frame to set up, and before 3.12 no call and return trace
 * events for the wrapper. That halves the cost of profiling a small function
 * called many times. functools.update_wrapper gives it the wrapped function's
 * name, docstring and __wrapped__ (it has a __dict__); it binds as a method
 * (a descriptor), and pickles by reference to its qualified name, as a
 * function does. */
#include "tracer.h"

#if PY_VERSION_HEX >= 0x03090000

#include <stddef.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *func;
    PyObject *enable;
    PyObject *disable;
    PyObject *dict;
    PyObject *weakreflist;
    vectorcallfunc vectorcall;
} ProfiledFunction;

static PyObject *
profiled_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    ProfiledFunction *self = (ProfiledFunction *)callable;
    PyObject *switched = PyObject_CallNoArgs(self->enable);
    if (switched == NULL) {
        return NULL;
    }
    Py_DECREF(switched);
    PyObject *result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    /* The call's exception, if any, is kept across disable(). */
    PyObject *type = NULL, *value = NULL, *traceback = NULL;
    if (result == NULL) {
        PyErr_Fetch(&type, &value, &traceback);
    }
    switched = PyObject_CallNoArgs(self->disable);
    if (switched == NULL) {
        if (result == NULL) {
            PyErr_Clear();
        }
        else {
            Py_CLEAR(result);
        }
    }
    Py_XDECREF(switched);
    if (result == NULL && type != NULL) {
        PyErr_Restore(type, value, traceback);
    }
    return result;
}

static PyObject *
profiled_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *func, *enable, *disable;
    static char *keywords[] = {"func", "enable", "disable", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO:ProfiledFunction", keywords,
                                     &func, &enable, &disable)) {
        return NULL;
    }
    if (!PyCallable_Check(func) || !PyCallable_Check(enable) || !PyCallable_Check(disable)) {
        PyErr_SetString(PyExc_TypeError, "ProfiledFunction needs three callables");
        return NULL;
    }
    ProfiledFunction *self = (ProfiledFunction *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(func);
    Py_INCREF(enable);
    Py_INCREF(disable);
    self->func = func;
    self->enable = enable;
    self->disable = disable;
    self->vectorcall = profiled_vectorcall;
    return (PyObject *)self;
}

static int
profiled_traverse(ProfiledFunction *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    Py_VISIT(self->enable);
    Py_VISIT(self->disable);
    Py_VISIT(self->dict);
    return 0;
}

static int
profiled_clear(ProfiledFunction *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->enable);
    Py_CLEAR(self->disable);
    Py_CLEAR(self->dict);
    return 0;
}

static void
profiled_dealloc(ProfiledFunction *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    profiled_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *
profiled_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return PyVectorcall_Call(self, args, kwargs);
}

/* A method: bound to the instance it is looked up on, as functions are. */
static PyObject *
profiled_get(PyObject *self, PyObject *obj, PyObject *Py_UNUSED(type))
{
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static PyObject *
profiled_repr(ProfiledFunction *self)
{
    return PyObject_Repr(self->func);
}

/* Pickled by name, as the function it stands for in its module. */
static PyObject *
profiled_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyObject_GetAttrString(self, "__qualname__");
}

static PyMethodDef profiled_methods[] = {
    {"__reduce__", profiled_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef profiled_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(ProfiledFunction, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ProfiledFunction, weakreflist), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ProfiledFunction, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef profiled_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot profiled_slots[] = {
    {Py_tp_new, (void *)profiled_new},
    {Py_tp_dealloc, (void *)profiled_dealloc},
    {Py_tp_traverse, (void *)profiled_traverse},
    {Py_tp_clear, (void *)profiled_clear},
    {Py_tp_call, (void *)profiled_call},
    {Py_tp_descr_get, (void *)profiled_get},
    {Py_tp_repr, (void *)profiled_repr},
    {Py_tp_methods, profiled_methods},
    {Py_tp_members, profiled_members},
    {Py_tp_getset, profiled_getset},
    {Py_tp_doc, "ProfiledFunction(func, enable, disable)\n--\n\n"
                "Calls func between enable() and disable()."},
    {0, NULL},
};

static PyType_Spec profiled_spec = {
    .name = "lineprof._tracer.ProfiledFunction",
    .basicsize = sizeof(ProfiledFunction),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .slots = profiled_slots,
};

int
lp_add_profiled_function_type(PyObject *module)
{
    PyObject *type = PyType_FromSpec(&profiled_spec);
    if (type == NULL) {
        return -1;
    }
    if (PyModule_AddObject(module, "ProfiledFunction", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

#else

int
lp_add_profiled_function_type(PyObject *Py_UNUSED(module))
{
    return 0;   /* 3.8: the decorator keeps a Python wrapper */
}

#endif
