/* The C side of the decorator.
 *
 * ProfiledFunction: what @profile returns for a plain function (3.9+).
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

static int
switch_profiling(PyObject *on_or_off)
{
    PyObject *result = PyObject_CallObject(on_or_off, NULL);
    Py_XDECREF(result);
    return result ? 0 : -1;
}

/* Ends a profiled step: calls disable(), keeping the step's exception if it
 * raised one (a generator's StopIteration with its return value included),
 * and returns the step's result. */
static PyObject *
switched_off(PyObject *result, PyObject *disable)
{
    PyObject *type = NULL, *value = NULL, *traceback = NULL;
    if (result == NULL) {
        PyErr_Fetch(&type, &value, &traceback);
    }
    if (switch_profiling(disable) < 0) {
        if (result == NULL) {
            PyErr_Clear();
        }
        else {
            Py_CLEAR(result);
        }
    }
    if (result == NULL && type != NULL) {
        PyErr_Restore(type, value, traceback);
    }
    return result;
}

PyObject *
lp_bind_as_method(PyObject *self, PyObject *obj, PyObject *Py_UNUSED(type))
{
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

PyObject *
lp_reduce_by_qualname(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return lp_getattr(self, "__qualname__");
}

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
    if (switch_profiling(self->enable) < 0) {
        return NULL;
    }
    return switched_off(PyObject_Vectorcall(self->func, args, nargsf, kwnames), self->disable);
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

static PyObject *
profiled_repr(ProfiledFunction *self)
{
    return PyObject_Repr(self->func);
}

static PyMethodDef profiled_methods[] = {
    {"__reduce__", lp_reduce_by_qualname, METH_NOARGS, NULL},
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
    {Py_tp_descr_get, (void *)lp_bind_as_method},
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

static int
add_profiled_function_type(PyObject *module)
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

static int
add_profiled_function_type(PyObject *Py_UNUSED(module))
{
    return 0;   /* 3.8: the decorator keeps a Python wrapper */
}

#endif

/* ProfiledGenerator: steps a decorated generator between enable() and
 * disable(). The decorator's generator function delegates to it with
 * `yield from`, so each step costs two C calls and no Python code. */
typedef struct {
    PyObject_HEAD
    PyObject *generator;
    PyObject *enable;
    PyObject *disable;
} ProfiledGenerator;

/* Calls method(*args) of the generator with profiling on. */
static PyObject *
step(ProfiledGenerator *self, const char *method, PyObject *args)
{
    if (switch_profiling(self->enable) < 0) {
        return NULL;
    }
    PyObject *bound = lp_getattr(self->generator, method);
    PyObject *result = bound ? PyObject_CallObject(bound, args) : NULL;
    Py_XDECREF(bound);
    return switched_off(result, self->disable);
}

static PyObject *
generator_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *generator, *enable, *disable;
    static char *keywords[] = {"generator", "enable", "disable", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO:ProfiledGenerator", keywords,
                                     &generator, &enable, &disable)) {
        return NULL;
    }
    ProfiledGenerator *self = (ProfiledGenerator *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(generator);
    Py_INCREF(enable);
    Py_INCREF(disable);
    self->generator = generator;
    self->enable = enable;
    self->disable = disable;
    return (PyObject *)self;
}

static int
generator_traverse(ProfiledGenerator *self, visitproc visit, void *arg)
{
#if PY_VERSION_HEX >= 0x03090000
    Py_VISIT(Py_TYPE(self));
#endif
    Py_VISIT(self->generator);
    Py_VISIT(self->enable);
    Py_VISIT(self->disable);
    return 0;
}

static int
generator_clear(ProfiledGenerator *self)
{
    Py_CLEAR(self->generator);
    Py_CLEAR(self->enable);
    Py_CLEAR(self->disable);
    return 0;
}

static void
generator_dealloc(ProfiledGenerator *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    generator_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *
generator_next(ProfiledGenerator *self)
{
    if (switch_profiling(self->enable) < 0) {
        return NULL;
    }
    return switched_off(Py_TYPE(self->generator)->tp_iternext(self->generator), self->disable);
}

static PyObject *
generator_send(ProfiledGenerator *self, PyObject *value)
{
    PyObject *args = PyTuple_Pack(1, value);
    PyObject *result = args ? step(self, "send", args) : NULL;
    Py_XDECREF(args);
    return result;
}

/* throw(type, value, traceback), as yield from passes it, goes on as
 * throw(value) where it can: the three-argument form is deprecated in 3.12. */
static PyObject *
generator_throw(ProfiledGenerator *self, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n >= 2 && PyExceptionInstance_Check(PyTuple_GET_ITEM(args, 1))) {
        PyObject *value_only = PyTuple_Pack(1, PyTuple_GET_ITEM(args, 1));
        PyObject *result = value_only ? step(self, "throw", value_only) : NULL;
        Py_XDECREF(value_only);
        return result;
    }
    return step(self, "throw", args);
}

static PyObject *
generator_close(ProfiledGenerator *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *args = PyTuple_New(0);
    PyObject *result = args ? step(self, "close", args) : NULL;
    Py_XDECREF(args);
    return result;
}

static PyMethodDef generator_methods[] = {
    {"send", (PyCFunction)generator_send, METH_O, NULL},
    {"throw", (PyCFunction)generator_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)generator_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot generator_slots[] = {
    {Py_tp_new, (void *)generator_new},
    {Py_tp_dealloc, (void *)generator_dealloc},
    {Py_tp_traverse, (void *)generator_traverse},
    {Py_tp_clear, (void *)generator_clear},
    {Py_tp_iter, (void *)PyObject_SelfIter},
    {Py_tp_iternext, (void *)generator_next},
    {Py_tp_methods, generator_methods},
    {Py_tp_doc, "ProfiledGenerator(generator, enable, disable)\n--\n\n"
                "Steps generator between enable() and disable()."},
    {0, NULL},
};

static PyType_Spec generator_spec = {
    .name = "lineprof._tracer.ProfiledGenerator",
    .basicsize = sizeof(ProfiledGenerator),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = generator_slots,
};

int
lp_add_profiled_function_type(PyObject *module)
{
    if (add_profiled_function_type(module) < 0) {
        return -1;
    }
    PyObject *type = PyType_FromSpec(&generator_spec);
    if (type == NULL) {
        return -1;
    }
    if (PyModule_AddObject(module, "ProfiledGenerator", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}
