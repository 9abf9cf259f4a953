/* lineprof._tracer: the line tracer's module, its Dispatcher and Tracer
 * types. The code registry is in registry.c, the thread stacks in threads.c;
 * the events themselves arrive in backend_settrace.c (3.8-3.11) or
 * backend_monitoring.c (3.12+). See tracer.h for who owns what. */
#include "tracer.h"

#include <stddef.h>
#include <string.h>
#include <structmember.h>

/* Distinguishes a Dispatcher from an earlier one freed at the same address
 * (a sub-interpreter that ended), so a thread's cached stack pointer is never
 * followed into freed memory. */
static uint64_t dispatcher_serials;

typedef struct ModuleState {
    PyObject *tracer_type;
    PyObject *dispatcher_type;
    Dispatcher *dispatcher;
} ModuleState;

static ModuleState *
module_state(PyObject *module)
{
    return (ModuleState *)PyModule_GetState(module);
}

/* ---- the Dispatcher type ----------------------------------------------- */

static void
dispatcher_dealloc(Dispatcher *self)
{
    PyTypeObject *type = Py_TYPE(self);
    lp_backend_clear(self);
    lp_free_stacks(self);
    if (lp_stack_cache.owner == self) {
        memset(&lp_stack_cache, 0, sizeof(lp_stack_cache));
    }
    lp_registry_free(self);
    Py_CLEAR(self->releaser_type);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyType_Slot dispatcher_slots[] = {
    {Py_tp_dealloc, (void *)dispatcher_dealloc},
#ifndef LP_USE_MONITORING
    /* sys.gettrace() returns the dispatcher while it traces: a program
     * that saves it and sets it back with sys.settrace must get a working
     * tracer (backend_settrace.c). */
    {Py_tp_call, (void *)lp_dispatcher_call},
#endif
    {Py_tp_doc, "The per-interpreter event dispatcher of lineprof (internal)."},
    {0, NULL},
};

static PyType_Spec dispatcher_spec = {
    .name = "lineprof._tracer.Dispatcher",
    .basicsize = sizeof(Dispatcher),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = dispatcher_slots,
};

static Dispatcher *
dispatcher_new(PyTypeObject *type)
{
    Dispatcher *self = (Dispatcher *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    lp_timer_init(&self->timer);
    self->serial = __atomic_add_fetch(&dispatcher_serials, 1, __ATOMIC_RELAXED);
    if (lp_add_releaser_type(self) < 0 || lp_backend_init(self) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

/* ---- the Tracer type --------------------------------------------------- */

static PyObject *
tracer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Tracer() takes no arguments");
        return NULL;
    }
    PyObject *dispatcher = lp_getattr((PyObject *)type, "_dispatcher");
    if (dispatcher == NULL) {
        return NULL;
    }
    if (Py_TYPE(dispatcher)->tp_dealloc != (destructor)dispatcher_dealloc) {
        Py_DECREF(dispatcher);
        PyErr_SetString(PyExc_TypeError, "Tracer._dispatcher is not a Dispatcher");
        return NULL;
    }
    Recording *recording = PyMem_RawCalloc(1, sizeof(Recording));
    if (recording == NULL) {
        Py_DECREF(dispatcher);
        return PyErr_NoMemory();
    }
    TracerObject *self = (TracerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyMem_RawFree(recording);
        Py_DECREF(dispatcher);
        return NULL;
    }
    self->dispatcher = (Dispatcher *)dispatcher;
    self->recording = recording;
    return (PyObject *)self;
}

/* Sets the local events of the tracer's codes (monitoring), or clears those
 * that no other armed tracer wants. Lock held. The tracer counts as armed
 * only once all its codes are: enable_by_count() on another thread reads
 * `armed` without the lock and must not count before the events come. */
static int
tracer_arm(TracerObject *self, int on)
{
    if (self->armed == on) {
        return 0;
    }
    if (!on) {
        LP_STORE(self->armed, 0);
    }
    PyObject *error_type = NULL, *error_value = NULL, *error_traceback = NULL;
    for (Py_ssize_t i = 0; i < self->n_codes; i++) {
        CodeEntry *entry = lp_registry_find(self->dispatcher, self->codes[i]->code);
        if (entry == NULL) {
            continue;
        }
        int wanted = on || lp_entry_wanted(entry);
        if (lp_backend_instrument(self->dispatcher, entry, wanted) < 0) {
            if (on) {
                /* Undo the codes armed so far; keep the error to report. */
                PyErr_Fetch(&error_type, &error_value, &error_traceback);
                LP_STORE(self->armed, 1);
                tracer_arm(self, 0);
                PyErr_Restore(error_type, error_value, error_traceback);
                return -1;
            }
            /* Disarming goes on with the other codes; the first error is
             * the one reported. */
            if (error_type == NULL) {
                PyErr_Fetch(&error_type, &error_value, &error_traceback);
            }
            else {
                PyErr_Clear();
            }
        }
        if (on) {
            LP_STORE(entry->wanted, 1);
        }
        else {
            lp_entry_update_wanted(self->dispatcher, entry);
        }
    }
    if (on) {
        LP_STORE_RELEASE(self->armed, 1);
    }
    if (error_type != NULL) {
        PyErr_Restore(error_type, error_value, error_traceback);
        return -1;
    }
    return 0;
}

/* An error is reported as raised in `context`: NULL from tracer_dealloc,
 * since naming the dying tracer there would revive it (the unraisable hook
 * takes a reference) and free it a second time. Lock held. */
static void
tracer_stop(TracerObject *self, PyObject *context)
{
    Dispatcher *dispatcher = self->dispatcher;
    if (self->recording->enabled) {
        LP_STORE(self->recording->enabled, 0);
        if (--dispatcher->n_enabled == 0 && lp_backend_trace_all_threads(dispatcher, 0) < 0) {
            PyErr_WriteUnraisable(context);
        }
    }
    if (LP_LOAD(self->recording->by_count) == 0 && tracer_arm(self, 0) < 0) {
        PyErr_WriteUnraisable(context);
    }
}

static PyObject *tracer_disable_by_count(TracerObject *self, PyObject *ignored);

static void
tracer_dealloc(TracerObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Dispatcher *dispatcher = self->dispatcher;
    /* A tracer can be freed while an exception propagates (popped from the
     * value stack of the frame that raised): stopping calls into Python,
     * which must neither see nor clear that exception. */
    PyObject *exc_type, *exc_value, *exc_traceback;
    PyErr_Fetch(&exc_type, &exc_value, &exc_traceback);
    /* Dropped between enable_by_count() and disable_by_count() (a decorated
     * call cannot be: its wrapper holds the tracer): undo those counts on
     * this thread, which ran them in practice, or lineprof's trace function
     * would stay on it for good (settrace). */
    while (LP_LOAD(self->recording->by_count) > 0) {
        PyObject *done = tracer_disable_by_count(self, NULL);
        if (done == NULL) {
            PyErr_WriteUnraisable(NULL);
            break;
        }
        Py_DECREF(done);
    }
    lp_lock(dispatcher);
    LP_STORE(self->recording->by_count, 0);
    tracer_stop(self, NULL);
    if (self->recording->memory) {
        LP_STORE(self->recording->memory, 0);
        lp_memory_stop(dispatcher);
    }
    for (Py_ssize_t i = 0; i < self->n_codes; i++) {
        CodeLines *lines = self->codes[i];
        CodeEntry *entry = lp_registry_find(dispatcher, lines->code);
        if (entry != NULL) {
            lp_entry_detach(dispatcher, entry, lines);
        }
        Py_CLEAR(lines->code);
        lp_lines_retire(dispatcher, lines);
    }
    (void)lp_retire(dispatcher, self->recording);
    lp_reclaim(dispatcher);
    lp_unlock(dispatcher);
    PyMem_RawFree(self->codes);
    Py_DECREF(dispatcher);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
    PyErr_Restore(exc_type, exc_value, exc_traceback);
}

static PyObject *
add_code_locked(TracerObject *self, PyObject *code, int first_line, int last_line)
{
    for (Py_ssize_t i = 0; i < self->n_codes; i++) {
        if (self->codes[i]->code == code) {
            Py_RETURN_NONE;
        }
    }
    if (self->n_codes == self->capacity) {
        Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 8;
        CodeLines **grown = PyMem_RawRealloc(self->codes, (size_t)capacity * sizeof(CodeLines *));
        if (grown == NULL) {
            return PyErr_NoMemory();
        }
        self->codes = grown;
        self->capacity = capacity;
    }
    CodeLines *lines = PyMem_RawCalloc(1, sizeof(CodeLines));
    if (lines == NULL) {
        return PyErr_NoMemory();
    }
    lines->tracer = self;
    lines->recording = self->recording;
    lines->first_line = first_line;
    lines->n_lines = last_line - first_line + 1;
    lines->first = lp_shard_new(lines->n_lines);
    if (lines->first == NULL) {
        PyMem_RawFree(lines);
        return PyErr_NoMemory();
    }
    CodeEntry *entry = lp_entry_for(self->dispatcher, code);
    if (entry == NULL || lp_entry_append(self->dispatcher, entry, lines) < 0) {
        if (entry != NULL && entry->lines_of->n == 0) {
            lp_entry_detach(self->dispatcher, entry, lines);
        }
        PyMem_RawFree(lines->first);
        PyMem_RawFree(lines);
        return NULL;
    }
    Py_INCREF(code);
    lines->code = code;
    self->codes[self->n_codes++] = lines;
    if (self->armed) {
        if (lp_backend_instrument(self->dispatcher, entry, 1) < 0) {
            return NULL;
        }
        lp_entry_update_wanted(self->dispatcher, entry);
    }
    Py_RETURN_NONE;
}

static PyObject *
tracer_add_code(TracerObject *self, PyObject *args)
{
    PyObject *code;
    int first_line, last_line;
    if (!PyArg_ParseTuple(args, "O!ii:add_code", &PyCode_Type, &code, &first_line, &last_line)) {
        return NULL;
    }
    if (first_line < 0 || last_line < first_line || last_line - first_line >= 10 * 1000 * 1000) {
        PyErr_Format(PyExc_ValueError, "add_code: bad line range %d..%d", first_line, last_line);
        return NULL;
    }
    lp_lock(self->dispatcher);
    PyObject *result = add_code_locked(self, code, first_line, last_line);
    lp_reclaim(self->dispatcher);
    lp_unlock(self->dispatcher);
    return result;
}

static PyObject *
tracer_enable(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    Dispatcher *dispatcher = self->dispatcher;
    PyObject *result = NULL;
    lp_lock(dispatcher);
    if (self->recording->enabled) {
        result = Py_None;
    }
    else if (tracer_arm(self, 1) == 0
             && (dispatcher->n_enabled > 0 || lp_backend_trace_all_threads(dispatcher, 1) == 0)) {
        dispatcher->n_enabled++;
        LP_STORE(self->recording->enabled, 1);
        result = Py_None;
    }
    lp_unlock(dispatcher);
    Py_XINCREF(result);
    return result;
}

static PyObject *
tracer_disable(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    lp_lock(self->dispatcher);
    tracer_stop(self, (PyObject *)self);
    lp_unlock(self->dispatcher);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The decorator's wrapper runs inside the user's program, which a tracer
 * that cannot start (every sys.monitoring tool id taken) must not break: the
 * call runs unprofiled and the reason is printed once. */
static PyObject *
by_count_failed(TracerObject *self)
{
    if (!LP_LOAD(self->warned)) {
        LP_STORE(self->warned, 1);
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        PyObject *message = value ? PyObject_Str(value) : NULL;
        const char *text = message ? PyUnicode_AsUTF8(message) : NULL;
        PySys_WriteStderr("%s; profiling is off\n", text ? text : "lineprof: cannot start");
        Py_XDECREF(message);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
    }
    PyErr_Clear();
    Py_RETURN_NONE;
}

/* The decorator's wrapper calls these around every call of a profiled
 * function, so they are cheap: after the first call the codes stay
 * instrumented (monitoring) and only this thread's trace function is
 * switched (settrace). Without the GIL the common case takes no lock: one
 * atomic add on the tracer's count. */
static PyObject *
tracer_enable_by_count(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    ThreadStack *stack = lp_thread_stack(self->dispatcher);
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    if (!LP_LOAD_ACQUIRE(self->armed)) {
        lp_lock(self->dispatcher);
        int failed = tracer_arm(self, 1) < 0;
        lp_unlock(self->dispatcher);
        if (failed) {
            return by_count_failed(self);
        }
    }
    if (stack->by_count == 0 && lp_backend_trace_thread(self->dispatcher, stack, 1) < 0) {
        return by_count_failed(self);
    }
    __atomic_add_fetch(&self->recording->by_count, 1, __ATOMIC_RELAXED);
    stack->by_count++;
    Py_RETURN_NONE;
}

static PyObject *
tracer_disable_by_count(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    ThreadStack *stack = lp_thread_stack(self->dispatcher);
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    int count = LP_LOAD(self->recording->by_count);
    do {
        if (count == 0) {
            Py_RETURN_NONE;
        }
    } while (!__atomic_compare_exchange_n(&self->recording->by_count, &count, count - 1, 1,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    if (stack->by_count > 0 && --stack->by_count == 0
            && lp_backend_trace_thread(self->dispatcher, stack, 0) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The counts of one code object: every shard's added up. Lock held. */
static void
sum_shards(const CodeLines *lines, LineCounts *total, uint64_t *calls)
{
    memset(total, 0, (size_t)lines->n_lines * sizeof(LineCounts));
    *calls = 0;
    const ShardTable *more = lines->more;
    int n_more = more != NULL ? more->n : 0;
    for (int s = -1; s < n_more; s++) {
        const Shard *shard = s < 0 ? lines->first : more->shards[s];
        if (shard == NULL) {
            continue;
        }
        *calls += LP_LOAD(shard->calls);
        for (int j = 0; j < lines->n_lines; j++) {
            total[j].hits += LP_LOAD(shard->lines[j].hits);
            total[j].ticks += LP_LOAD(shard->lines[j].ticks);
            total[j].half_dispatches += LP_LOAD(shard->lines[j].half_dispatches);
            total[j].frame_half_dispatches += LP_LOAD(shard->lines[j].frame_half_dispatches);
        }
    }
}

/* [(code, [row, ...]), ...] for the code objects with hits, in the order
 * registered, lines in order; the row of a line is built by make_row. Pairs,
 * not a dict keyed by code: distinct code objects can compare equal (the
 * same function compiled twice, or in two files), and a dict merged them. */
static PyObject *
collect_rows_locked(TracerObject *self, PyObject *(*make_row)(const TracerObject *, int, const LineCounts *))
{
    PyObject *result = PyList_New(0);
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->n_codes; i++) {
        CodeLines *lines = self->codes[i];
        LineCounts *counts = PyMem_RawMalloc((size_t)lines->n_lines * sizeof(LineCounts));
        PyObject *rows = counts ? PyList_New(0) : PyErr_NoMemory();
        if (rows == NULL) {
            PyMem_RawFree(counts);
            goto error;
        }
        uint64_t calls;
        sum_shards(lines, counts, &calls);
        for (int j = 0; j < lines->n_lines; j++) {
            if (counts[j].hits == 0) {
                continue;
            }
            PyObject *row = make_row(self, lines->first_line + j, &counts[j]);
            if (row == NULL || PyList_Append(rows, row) < 0) {
                Py_XDECREF(row);
                Py_DECREF(rows);
                PyMem_RawFree(counts);
                goto error;
            }
            Py_DECREF(row);
        }
        PyMem_RawFree(counts);
        PyObject *pair = PyList_GET_SIZE(rows) > 0 ? PyTuple_Pack(2, lines->code, rows) : NULL;
        int failed = PyList_GET_SIZE(rows) > 0 && (pair == NULL || PyList_Append(result, pair) < 0);
        Py_XDECREF(pair);
        Py_DECREF(rows);
        if (failed) {
            goto error;
        }
    }
    return result;
error:
    Py_DECREF(result);
    return NULL;
}

/* Under the lock: add_code() on another thread may grow the list of codes. */
static PyObject *
collect_rows(TracerObject *self, PyObject *(*make_row)(const TracerObject *, int, const LineCounts *))
{
    lp_lock(self->dispatcher);
    PyObject *result = collect_rows_locked(self, make_row);
    lp_unlock(self->dispatcher);
    return result;
}

/* Ticks less the calibrated cost of the dispatches they hold. */
static double
compensated(const TracerObject *self, int64_t ticks, uint64_t half_dispatches,
            uint64_t frame_half_dispatches)
{
    return (double)ticks - 0.5 * (self->event_cost * (double)half_dispatches
                                  + self->frame_event_cost * (double)frame_half_dispatches);
}

static PyObject *
timing_row(const TracerObject *self, int line, const LineCounts *counts)
{
    double ticks = compensated(self, counts->ticks, counts->half_dispatches,
                               counts->frame_half_dispatches);
    return Py_BuildValue("(iKL)", line, (unsigned long long)counts->hits,
                         (long long)(ticks > 0 ? ticks + 0.5 : 0));
}

static PyObject *
count_row(const TracerObject *Py_UNUSED(self), int line, const LineCounts *counts)
{
    return Py_BuildValue("(iKLdd)", line, (unsigned long long)counts->hits,
                         (long long)counts->ticks, 0.5 * (double)counts->half_dispatches,
                         0.5 * (double)counts->frame_half_dispatches);
}

static PyObject *
tracer_get_timings(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    return collect_rows(self, timing_row);
}

static PyObject *
tracer_get_counts(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    return collect_rows(self, count_row);
}

static void
clear_shard(Shard *shard, int n_lines)
{
    if (shard == NULL) {
        return;
    }
    LP_STORE(shard->calls, 0);
    EdgeTable *edges = shard->edges;
    for (int j = 0; edges != NULL && j < edges->capacity; j++) {
        LP_STORE(edges->slots[j].calls, 0);
        LP_STORE(edges->slots[j].ticks, 0);
        LP_STORE(edges->slots[j].half_dispatches, 0);
        LP_STORE(edges->slots[j].frame_half_dispatches, 0);
    }
    for (int j = 0; j < n_lines; j++) {
        LP_STORE(shard->lines[j].hits, 0);
        LP_STORE(shard->lines[j].ticks, 0);
        LP_STORE(shard->lines[j].half_dispatches, 0);
        LP_STORE(shard->lines[j].frame_half_dispatches, 0);
    }
    LineMemory *memory = LP_LOAD_ACQUIRE(shard->memory);
    for (int j = 0; memory != NULL && j < n_lines; j++) {
        LP_STORE(memory[j].allocated, 0);
        LP_STORE(memory[j].freed, 0);
        LP_STORE(memory[j].peak, 0);
    }
}

static PyObject *
tracer_clear(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    lp_lock(self->dispatcher);
    for (Py_ssize_t i = 0; i < self->n_codes; i++) {
        CodeLines *lines = self->codes[i];
        clear_shard(lines->first, lines->n_lines);
        for (int s = 0; lines->more != NULL && s < lines->more->n; s++) {
            clear_shard(lines->more->shards[s], lines->n_lines);
        }
    }
    lp_unlock(self->dispatcher);
    Py_RETURN_NONE;
}

/* [(code, calls), ...] for the code objects that were called (pairs, as
 * in collect_rows). */
static PyObject *
tracer_get_calls(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    lp_lock(self->dispatcher);
    PyObject *result = PyList_New(0);
    for (Py_ssize_t i = 0; result != NULL && i < self->n_codes; i++) {
        CodeLines *lines = self->codes[i];
        uint64_t calls = LP_LOAD(lines->first->calls);
        for (int s = 0; lines->more != NULL && s < lines->more->n; s++) {
            calls += lines->more->shards[s] ? LP_LOAD(lines->more->shards[s]->calls) : 0;
        }
        if (calls == 0) {
            continue;
        }
        PyObject *pair = Py_BuildValue("(OK)", lines->code, (unsigned long long)calls);
        if (pair == NULL || PyList_Append(result, pair) < 0) {
            Py_CLEAR(result);
        }
        Py_XDECREF(pair);
    }
    lp_unlock(self->dispatcher);
    return result;
}

/* Appends one shard's edges into lines' code as (caller code, caller line,
 * callee code, calls, time) to result. */
static int
append_edges(const TracerObject *self, const CodeLines *lines, const Shard *shard, PyObject *result)
{
    const EdgeTable *edges = shard != NULL ? LP_LOAD_ACQUIRE(shard->edges) : NULL;
    for (int j = 0; edges != NULL && j < edges->capacity; j++) {
        const Edge *edge = &edges->slots[j];
        const CodeLines *caller = LP_LOAD_ACQUIRE(edge->caller);
        uint64_t calls = LP_LOAD(edge->calls);
        double ticks = compensated(self, LP_LOAD(edge->ticks), LP_LOAD(edge->half_dispatches),
                                   LP_LOAD(edge->frame_half_dispatches));
        if (caller == NULL || (calls == 0 && LP_LOAD(edge->ticks) == 0)) {
            continue;
        }
        PyObject *row = Py_BuildValue("(OiOKL)", caller->code, edge->caller_line, lines->code,
                                      (unsigned long long)calls, (long long)(ticks > 0 ? ticks + 0.5 : 0));
        if (row == NULL || PyList_Append(result, row) < 0) {
            Py_XDECREF(row);
            return -1;
        }
        Py_DECREF(row);
    }
    return 0;
}

/* [(caller code, caller line, callee code, calls, time), ...]: the calls
 * between this tracer's code objects, one row per thread slot (the caller
 * adds them up). */
static PyObject *
tracer_get_edges(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    lp_lock(self->dispatcher);
    PyObject *result = PyList_New(0);
    for (Py_ssize_t i = 0; result != NULL && i < self->n_codes; i++) {
        const CodeLines *lines = self->codes[i];
        int failed = append_edges(self, lines, lines->first, result);
        for (int s = 0; !failed && lines->more != NULL && s < lines->more->n; s++) {
            failed = append_edges(self, lines, lines->more->shards[s], result);
        }
        if (failed) {
            Py_CLEAR(result);
        }
    }
    lp_unlock(self->dispatcher);
    return result;
}

/* [(code, [(line, allocated, freed, peak), ...]), ...]: the memory of the
 * lines that counted bytes, every shard's added up (peaks: the largest). */
static PyObject *
tracer_get_memory(TracerObject *self, PyObject *Py_UNUSED(ignored))
{
    lp_lock(self->dispatcher);
    PyObject *result = PyList_New(0);
    for (Py_ssize_t i = 0; result != NULL && i < self->n_codes; i++) {
        const CodeLines *lines = self->codes[i];
        LineMemory *total = PyMem_RawCalloc((size_t)lines->n_lines, sizeof(LineMemory));
        PyObject *rows = total ? PyList_New(0) : PyErr_NoMemory();
        int n_more = lines->more != NULL ? lines->more->n : 0;
        for (int s = -1; rows != NULL && s < n_more; s++) {
            const Shard *shard = s < 0 ? lines->first : lines->more->shards[s];
            const LineMemory *memory = shard != NULL ? LP_LOAD_ACQUIRE(shard->memory) : NULL;
            for (int j = 0; memory != NULL && j < lines->n_lines; j++) {
                total[j].allocated += LP_LOAD(memory[j].allocated);
                total[j].freed += LP_LOAD(memory[j].freed);
                int64_t peak = LP_LOAD(memory[j].peak);
                total[j].peak = peak > total[j].peak ? peak : total[j].peak;
            }
        }
        for (int j = 0; rows != NULL && j < lines->n_lines; j++) {
            if (total[j].allocated == 0 && total[j].freed == 0) {
                continue;
            }
            PyObject *row = Py_BuildValue("(iKKL)", lines->first_line + j,
                                          (unsigned long long)total[j].allocated,
                                          (unsigned long long)total[j].freed,
                                          (long long)total[j].peak);
            if (row == NULL || PyList_Append(rows, row) < 0) {
                Py_CLEAR(rows);
            }
            Py_XDECREF(row);
        }
        PyMem_RawFree(total);
        PyObject *pair = (rows != NULL && PyList_GET_SIZE(rows) > 0)
                         ? PyTuple_Pack(2, lines->code, rows) : NULL;
        if (rows == NULL || (PyList_GET_SIZE(rows) > 0 && (pair == NULL || PyList_Append(result, pair) < 0))) {
            Py_CLEAR(result);
        }
        Py_XDECREF(pair);
        Py_XDECREF(rows);
    }
    lp_unlock(self->dispatcher);
    return result;
}

static PyObject *
tracer_get_memory_on(TracerObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(LP_LOAD(self->recording->memory));
}

static int
tracer_set_memory_on(TracerObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    int on = value ? PyObject_IsTrue(value) : 0;
    if (on < 0) {
        return -1;
    }
    if (on == LP_LOAD(self->recording->memory)) {
        return 0;
    }
    if (on && lp_memory_start(self->dispatcher) < 0) {
        return -1;
    }
    if (!on) {
        lp_memory_stop(self->dispatcher);
    }
    LP_STORE(self->recording->memory, on);
    return 0;
}

static PyObject *
tracer_get_codes(TracerObject *self, void *Py_UNUSED(closure))
{
    lp_lock(self->dispatcher);
    PyObject *codes = PyTuple_New(self->n_codes);
    for (Py_ssize_t i = 0; codes != NULL && i < self->n_codes; i++) {
        Py_INCREF(self->codes[i]->code);
        PyTuple_SET_ITEM(codes, i, self->codes[i]->code);
    }
    lp_unlock(self->dispatcher);
    return codes;
}

static PyObject *
tracer_get_enabled(TracerObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(lp_recording_anywhere(self->recording));
}

static PyObject *
tracer_get_calling_thread_only(TracerObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(LP_LOAD(self->recording->calling_thread_only));
}

static int
tracer_set_calling_thread_only(TracerObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    int on = value ? PyObject_IsTrue(value) : 0;
    if (on < 0) {
        return -1;
    }
    LP_STORE(self->recording->calling_thread_only, on);
    return 0;
}

static PyMethodDef tracer_methods[] = {
    {"add_code", (PyCFunction)tracer_add_code, METH_VARARGS,
     "add_code(code, first_line, last_line)\n--\n\n"
     "Register a code object; lines outside first_line..last_line are ignored."},
    {"enable", (PyCFunction)tracer_enable, METH_NOARGS,
     "Record the registered code on every thread, present and future."},
    {"disable", (PyCFunction)tracer_disable, METH_NOARGS,
     "Stop recording (what enable() started); the data is kept."},
    {"enable_by_count", (PyCFunction)tracer_enable_by_count, METH_NOARGS,
     "Record while at least one enable_by_count() is not matched by a disable_by_count()."},
    {"disable_by_count", (PyCFunction)tracer_disable_by_count, METH_NOARGS,
     "Undo one enable_by_count()."},
    {"get_timings", (PyCFunction)tracer_get_timings, METH_NOARGS,
     "[(code, [(lineno, hits, ticks), ...]), ...] for the code objects that ran;\n"
     "ticks less event_cost per line-event dispatch and frame_event_cost per call,\n"
     "return, yield or resume dispatch (never below 0)."},
    {"get_memory", (PyCFunction)tracer_get_memory, METH_NOARGS,
     "[(code, [(lineno, allocated, freed, peak), ...]), ...] for the lines that counted bytes."},
    {"get_counts", (PyCFunction)tracer_get_counts, METH_NOARGS,
     "[(code, [(lineno, hits, ticks, dispatches, frame_dispatches), ...]), ...]: the raw\n"
     "counts; dispatches counts the line-event dispatches inside ticks, frame_dispatches\n"
     "the call, return, yield and resume ones (halves count 0.5)."},
    {"get_edges", (PyCFunction)tracer_get_edges, METH_NOARGS,
     "[(caller_code, caller_line, callee_code, calls, time), ...]: calls between the\n"
     "registered code objects, time in timer ticks less the calibrated event cost\n"
     "(rows of several threads are not added up)."},
    {"get_calls", (PyCFunction)tracer_get_calls, METH_NOARGS,
     "[(code, calls), ...]: how many frames of each code object started while recording\n"
     "(a generator's resumes are not calls)."},
    {"clear", (PyCFunction)tracer_clear, METH_NOARGS,
     "Forget all hits and times; keep the registered code."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef tracer_getset[] = {
    {"codes", (getter)tracer_get_codes, NULL, "The registered code objects.", NULL},
    {"enabled", (getter)tracer_get_enabled, NULL, "Whether the tracer is recording.", NULL},
    {"memory", (getter)tracer_get_memory_on, (setter)tracer_set_memory_on,
     "Whether the lines' allocated and freed bytes are counted (allocator hooks, memory.c).",
     NULL},
    {"calling_thread_only", (getter)tracer_get_calling_thread_only,
     (setter)tracer_set_calling_thread_only,
     "Whether enable_by_count() records on the calling thread only (default: every thread).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef tracer_members[] = {
    {"event_cost", T_DOUBLE, offsetof(TracerObject, event_cost), 0,
     "Ticks that get_timings() subtracts per line-event dispatch (0: no compensation)."},
    {"frame_event_cost", T_DOUBLE, offsetof(TracerObject, frame_event_cost), 0,
     "Ticks that get_timings() subtracts per call, return, yield or resume dispatch."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot tracer_slots[] = {
    {Py_tp_members, tracer_members},
    {Py_tp_new, (void *)tracer_new},
    {Py_tp_dealloc, (void *)tracer_dealloc},
    {Py_tp_methods, tracer_methods},
    {Py_tp_getset, tracer_getset},
    {Py_tp_doc, "Tracer()\n--\n\nTimes the lines of the code objects registered with add_code()."},
    {0, NULL},
};

static PyType_Spec tracer_spec = {
    .name = "lineprof._tracer.Tracer",
    .basicsize = sizeof(TracerObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = tracer_slots,
};

/* ---- the module -------------------------------------------------------- */

static PyObject *
module_timer(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(lp_timer_read(&module_state(module)->dispatcher->timer));
}

static PyObject *
module_timer_unit(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    double unit;
    Py_BEGIN_ALLOW_THREADS
    unit = lp_timer_unit(&module_state(module)->dispatcher->timer);
    Py_END_ALLOW_THREADS
    return PyFloat_FromDouble(unit);
}

#ifndef LP_USE_MONITORING
static PyObject *
module_wrap_trace(PyObject *module, PyObject *flag)
{
    int on = PyObject_IsTrue(flag);
    if (on < 0) {
        return NULL;
    }
    module_state(module)->dispatcher->wrap_trace = on;
    Py_RETURN_NONE;
}
#endif

static PyMethodDef module_methods[] = {
    {"timer", module_timer, METH_NOARGS, "The current time in ticks."},
#ifndef LP_USE_MONITORING
    {"wrap_trace", module_wrap_trace, METH_O,
     "wrap_trace(flag): whether another trace function that lineprof finds on a thread\n"
     "(a debugger, coverage) still gets every event while lineprof traces, instead of\n"
     "being paused (settrace backend only)."},
#endif
    {"timer_unit", module_timer_unit, METH_NOARGS, "Seconds per tick."},
#ifndef _WIN32
    {"resend_until_handled", lp_resend_until_handled, METH_O,
     "After signal.signal(signum, handler), from the main thread: the handler runs "
     "however the main thread waits (see signals.c)."},
    {"signal_handled", lp_signal_handled, METH_NOARGS,
     "Called by the handler: stop sending the signal again."},
#endif
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    ModuleState *state = module_state(module);
    state->dispatcher_type = PyType_FromSpec(&dispatcher_spec);
    if (state->dispatcher_type == NULL) {
        return -1;
    }
    state->tracer_type = PyType_FromSpec(&tracer_spec);
    if (state->tracer_type == NULL) {
        return -1;
    }
    state->dispatcher = dispatcher_new((PyTypeObject *)state->dispatcher_type);
    if (state->dispatcher == NULL) {
        return -1;
    }
    if (PyObject_SetAttrString(state->tracer_type, "_dispatcher", (PyObject *)state->dispatcher) < 0) {
        return -1;
    }
    Py_INCREF(state->tracer_type);
    if (PyModule_AddObject(module, "Tracer", state->tracer_type) < 0) {
        Py_DECREF(state->tracer_type);
        return -1;
    }
    if (lp_add_profiled_function_type(module) < 0 || lp_add_sampled_function_type(module) < 0) {
        return -1;
    }
#ifdef LP_USE_MONITORING
    const char *backend = "sys.monitoring";
#else
    const char *backend = "settrace";
#endif
    if (PyModule_AddStringConstant(module, "BACKEND", backend) < 0
            || PyModule_AddStringConstant(module, "TIMER", lp_timer_name(&state->dispatcher->timer)) < 0) {
        return -1;
    }
    return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModuleState *state = module_state(module);
    Py_VISIT(state->tracer_type);
    Py_VISIT(state->dispatcher_type);
    return 0;
}

static int
module_clear(PyObject *module)
{
    ModuleState *state = module_state(module);
    Py_CLEAR(state->tracer_type);
    Py_CLEAR(state->dispatcher);
    Py_CLEAR(state->dispatcher_type);
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#ifdef Py_mod_gil
    /* Counts are per-thread shards and every shared structure is changed
     * under the dispatcher's lock (tracer.h): safe without the GIL. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef tracer_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "lineprof._tracer",
    .m_doc = "The C line tracer of lineprof.",
    .m_size = sizeof(ModuleState),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

/* The one symbol the extension exports (it is built with hidden visibility):
 * 3.8's PyMODINIT_FUNC does not say so itself. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((visibility("default")))
#endif
PyMODINIT_FUNC
PyInit__tracer(void)
{
    return PyModuleDef_Init(&tracer_module);
}
