/* The sampling decision of lineprof.sampling, made in C so that a call that
 * is not profiled costs close to nothing (issue 13: at most 100 ns).
 *
 * Countdown     the base of sampling.Sampler: `left`, the number of calls
 *               until the next sampled one, shared by the functions
 *               decorated with the same sample and limit.
 * SampledFunction(func, profiled, sampler, first_call)
 *               what profile(sample=..., limit=...) returns for a plain
 *               function (3.9+). A thread's sampling mode says whether it is
 *               outside every decorated call, inside an unsampled one or
 *               inside a sampled one; a nested decorated call follows its
 *               outermost call (runs profiled or func). An outermost call
 *               counts down; above zero it runs func with the mode set to
 *               unsampled, at zero first_call(func, profiled, sampler, *args,
 *               **kwargs) (Python: the limit, the next draw, the per-call
 *               file) takes it. That common path calls no Python code,
 *               allocates nothing and takes no lock.
 *
 * The mode is a C thread-local, read and set by the Python wrappers of
 * coroutine and generator functions through sampling_mode() and
 * set_sampling_mode(). It is per OS thread: greenlets that switch inside a
 * decorated call share it (README, "Profiling in production"). */
#include "tracer.h"

#include <stddef.h>
#include <structmember.h>

enum { MODE_OUTSIDE = 0, MODE_UNSAMPLED = 1, MODE_SAMPLED = 2 };

static LP_THREAD_LOCAL int sampling_mode;

typedef struct {
    PyObject_HEAD
    long long left;
} Countdown;

/* The outermost call's turn: above zero, not sampled. Without the GIL the
 * threads count down one counter atomically; at zero and below they all go
 * to first_call, which decides under the sampler's lock. */
static inline long long
count_down(Countdown *countdown)
{
#ifdef LP_FREE_THREADED
    return __atomic_sub_fetch(&countdown->left, 1, __ATOMIC_RELAXED);
#else
    return --countdown->left;
#endif
}

static void
countdown_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMemberDef countdown_members[] = {
    {"left", T_LONGLONG, offsetof(Countdown, left), 0,
     "Calls until the next sampled one (1: the next)."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot countdown_slots[] = {
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_dealloc, (void *)countdown_dealloc},
    {Py_tp_members, countdown_members},
    {Py_tp_doc, "The countdown of a sampler: calls until the next sampled one."},
    {0, NULL},
};

static PyType_Spec countdown_spec = {
    .name = "lineprof._tracer.Countdown",
    .basicsize = sizeof(Countdown),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = countdown_slots,
};

#if PY_VERSION_HEX >= 0x03090000
/* 3.8 (whose PyType_FromSpec cannot give instances a __dict__) keeps the
 * Python wrapper of lineprof.sampling, with the same mode and countdown. */

typedef struct {
    PyObject_HEAD
    PyObject *func;
    PyObject *profiled;
    PyObject *sampler;      /* a Countdown */
    PyObject *first_call;
    PyObject *dict;
    PyObject *weakreflist;
    vectorcallfunc vectorcall;
} SampledFunction;

/* What a nested call runs (NULL: the call is outermost). */
static inline PyObject *
nested_target(SampledFunction *self)
{
    switch (sampling_mode) {
    case MODE_SAMPLED:
        return self->profiled;
    case MODE_UNSAMPLED:
        return self->func;
    default:
        return NULL;
    }
}

static PyObject *
sampled_first_call(SampledFunction *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = given + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject **all = PyMem_Malloc((size_t)(3 + total) * sizeof(PyObject *));
    if (all == NULL) {
        return PyErr_NoMemory();
    }
    all[0] = self->func;
    all[1] = self->profiled;
    all[2] = self->sampler;
    for (Py_ssize_t i = 0; i < total; i++) {
        all[3 + i] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(self->first_call, all, (size_t)(3 + given), kwnames);
    PyMem_Free(all);
    return result;
}

static PyObject *
sampled_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    SampledFunction *self = (SampledFunction *)callable;
    PyObject *target = nested_target(self);
    if (target != NULL) {
        return PyObject_Vectorcall(target, args, nargsf, kwnames);
    }
    if (count_down((Countdown *)self->sampler) <= 0) {
        return sampled_first_call(self, args, nargsf, kwnames);
    }
    sampling_mode = MODE_UNSAMPLED;
    PyObject *result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    sampling_mode = MODE_OUTSIDE;
    return result;
}

static PyObject *
sampled_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return PyVectorcall_Call(self, args, kwargs);
}

static PyObject *
sampled_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *func, *profiled, *sampler, *first_call;
    static char *keywords[] = {"func", "profiled", "sampler", "first_call", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO:SampledFunction", keywords,
                                     &func, &profiled, &sampler, &first_call)) {
        return NULL;
    }
    if (!PyCallable_Check(func) || !PyCallable_Check(profiled) || !PyCallable_Check(first_call)) {
        PyErr_SetString(PyExc_TypeError, "SampledFunction needs func, profiled and first_call callable");
        return NULL;
    }
    /* The sampler must be a Countdown: its counter is read in place. */
    PyObject *countdown_type = PyObject_GetAttrString((PyObject *)type, "_countdown_type");
    if (countdown_type == NULL) {
        return NULL;
    }
    int is_countdown = PyObject_IsInstance(sampler, countdown_type);
    Py_DECREF(countdown_type);
    if (is_countdown <= 0) {
        if (is_countdown == 0) {
            PyErr_SetString(PyExc_TypeError, "SampledFunction's sampler must be a Countdown");
        }
        return NULL;
    }
    SampledFunction *self = (SampledFunction *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(func);
    Py_INCREF(profiled);
    Py_INCREF(sampler);
    Py_INCREF(first_call);
    self->func = func;
    self->profiled = profiled;
    self->sampler = sampler;
    self->first_call = first_call;
    self->vectorcall = sampled_vectorcall;
    return (PyObject *)self;
}

static int
sampled_traverse(SampledFunction *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    Py_VISIT(self->profiled);
    Py_VISIT(self->sampler);
    Py_VISIT(self->first_call);
    Py_VISIT(self->dict);
    return 0;
}

static int
sampled_clear(SampledFunction *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->profiled);
    Py_CLEAR(self->sampler);
    Py_CLEAR(self->first_call);
    Py_CLEAR(self->dict);
    return 0;
}

static void
sampled_dealloc(SampledFunction *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    sampled_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *
sampled_repr(SampledFunction *self)
{
    return PyObject_Repr(self->func);
}

static PyMethodDef sampled_methods[] = {
    {"__reduce__", lp_reduce_by_qualname, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef sampled_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(SampledFunction, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(SampledFunction, weakreflist), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SampledFunction, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef sampled_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot sampled_slots[] = {
    {Py_tp_new, (void *)sampled_new},
    {Py_tp_dealloc, (void *)sampled_dealloc},
    {Py_tp_traverse, (void *)sampled_traverse},
    {Py_tp_clear, (void *)sampled_clear},
    {Py_tp_call, (void *)sampled_call},
    {Py_tp_descr_get, (void *)lp_bind_as_method},
    {Py_tp_repr, (void *)sampled_repr},
    {Py_tp_methods, sampled_methods},
    {Py_tp_members, sampled_members},
    {Py_tp_getset, sampled_getset},
    {Py_tp_doc, "SampledFunction(func, profiled, sampler, first_call)\n--\n\n"
                "Runs profiled or func as the thread's sampling mode and the sampler's\n"
                "countdown say; first_call(func, profiled, sampler, *args, **kwargs)\n"
                "takes an outermost call the countdown reached."},
    {0, NULL},
};

static PyType_Spec sampled_spec = {
    .name = "lineprof._tracer.SampledFunction",
    .basicsize = sizeof(SampledFunction),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .slots = sampled_slots,
};

#endif

static PyObject *
get_sampling_mode(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(sampling_mode);
}

static PyObject *
set_sampling_mode(PyObject *Py_UNUSED(module), PyObject *value)
{
    long mode = PyLong_AsLong(value);
    if (mode == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (mode < MODE_OUTSIDE || mode > MODE_SAMPLED) {
        PyErr_Format(PyExc_ValueError, "sampling mode %ld is not 0, 1 or 2", mode);
        return NULL;
    }
    sampling_mode = (int)mode;
    Py_RETURN_NONE;
}

static PyMethodDef sampled_functions[] = {
    {"sampling_mode", get_sampling_mode, METH_NOARGS,
     "The calling thread's sampling mode: 0 outside every sampled function's\n"
     "call, 1 inside an unsampled call, 2 inside a sampled one."},
    {"set_sampling_mode", set_sampling_mode, METH_O,
     "Sets the calling thread's sampling mode (0, 1 or 2)."},
    {NULL, NULL, 0, NULL},
};

static int
add_type(PyObject *module, PyType_Spec *spec, PyObject **made)
{
    PyObject *type = PyType_FromSpec(spec);
    if (type == NULL) {
        return -1;
    }
    Py_INCREF(type);
    if (PyModule_AddObject(module, spec->name + sizeof("lineprof._tracer.") - 1, type) < 0) {
        Py_DECREF(type);
        Py_DECREF(type);
        return -1;
    }
    *made = type;
    return 0;
}

int
lp_add_sampled_function_type(PyObject *module)
{
    PyObject *countdown;
    if (add_type(module, &countdown_spec, &countdown) < 0) {
        return -1;
    }
#if PY_VERSION_HEX >= 0x03090000
    PyObject *sampled;
    if (add_type(module, &sampled_spec, &sampled) < 0) {
        Py_DECREF(countdown);
        return -1;
    }
    int status = PyObject_SetAttrString(sampled, "_countdown_type", countdown);
    Py_DECREF(sampled);
    if (status < 0) {
        Py_DECREF(countdown);
        return -1;
    }
#endif
    Py_DECREF(countdown);
    return PyModule_AddFunctions(module, sampled_functions);
}
