/* The per-thread frame stacks: which profiled frames are running on each
 * thread of the interpreter. See tracer.h for who owns what.
 *
 * A stack is shared by the dispatcher and its thread: a StackReleaser in the
 * thread's state dict lets go of it when the thread ends (CPython clears that
 * dict then), and the stack is handed to the next new thread, so a program
 * starting many short threads does not grow the profiler. */
#include "tracer.h"

#include <string.h>

LP_THREAD_LOCAL StackCache lp_stack_cache;

static void
stack_free(ThreadStack *stack)
{
    PyMem_RawFree(stack->frames);
    PyMem_RawFree(stack);
}

/* One holder lets go; the last one frees the stack. */
static void
stack_let_go(ThreadStack *stack, int holder)
{
    if (__atomic_and_fetch(&stack->holders, ~holder, __ATOMIC_ACQ_REL) == 0) {
        stack_free(stack);
    }
}

/* ---- StackReleaser -------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    ThreadStack *stack;
} StackReleaser;

static void
releaser_dealloc(StackReleaser *self)
{
    PyTypeObject *type = Py_TYPE(self);
    if (self->stack != NULL) {
        /* Code this thread still runs as it ends (a finalizer) gets a stack
         * of its own: this one can be handed to a new thread now. */
        if (lp_stack_cache.stack == self->stack) {
            memset(&lp_stack_cache, 0, sizeof(lp_stack_cache));
        }
        stack_let_go(self->stack, LP_HELD_BY_THREAD);
    }
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyType_Slot releaser_slots[] = {
    {Py_tp_dealloc, (void *)releaser_dealloc},
    {Py_tp_doc, "Gives a thread's lineprof stack back when the thread ends (internal)."},
    {0, NULL},
};

static PyType_Spec releaser_spec = {
    .name = "lineprof._tracer.StackReleaser",
    .basicsize = sizeof(StackReleaser),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = releaser_slots,
};

int
lp_add_releaser_type(Dispatcher *dispatcher)
{
    dispatcher->releaser_type = PyType_FromSpec(&releaser_spec);
    return dispatcher->releaser_type != NULL ? 0 : -1;
}

/* The dict CPython clears when the thread ends. */
static PyObject *
thread_dict(PyThreadState *tstate)
{
    if (tstate == PyThreadState_Get()) {
        return PyThreadState_GetDict();
    }
#if PY_VERSION_HEX < 0x030C0000
    /* Another thread: only enable() of the settrace backend (3.8-3.11)
     * reaches other threads, under the GIL. */
    if (tstate->dict == NULL) {
        tstate->dict = PyDict_New();
    }
    return tstate->dict;
#else
    return NULL;
#endif
}

/* Puts a releaser for the stack in the thread's dict. */
static int
hand_to_thread(Dispatcher *dispatcher, ThreadStack *stack, PyThreadState *tstate)
{
    PyObject *dict = thread_dict(tstate);
    PyObject *key = dict ? PyUnicode_FromFormat("lineprof._tracer.stack.%llu",
                                                (unsigned long long)dispatcher->serial) : NULL;
    StackReleaser *releaser = key ? PyObject_New(StackReleaser, (PyTypeObject *)dispatcher->releaser_type)
                                  : NULL;
    if (releaser == NULL) {
        Py_XDECREF(key);
        return -1;
    }
    releaser->stack = NULL;
    int result = PyDict_SetItem(dict, key, (PyObject *)releaser);
    if (result == 0) {
        __atomic_or_fetch(&stack->holders, LP_HELD_BY_THREAD, __ATOMIC_ACQ_REL);
        releaser->stack = stack;
        stack->tstate = tstate;
        stack->generation++;
    }
    Py_DECREF(releaser);
    Py_DECREF(key);
    return result;
}

static ThreadStack *
stack_of_locked(Dispatcher *dispatcher, PyThreadState *tstate)
{
    ThreadStack *free_stack = NULL;
    for (ThreadStack *stack = dispatcher->stacks; stack != NULL; stack = stack->next) {
        int holders = __atomic_load_n(&stack->holders, __ATOMIC_ACQUIRE);
        if (holders & LP_HELD_BY_THREAD) {
            if (stack->tstate == tstate) {
                return stack;
            }
        }
        else if (free_stack == NULL) {
            free_stack = stack;
        }
    }
    ThreadStack *stack = free_stack;
    if (stack != NULL) {
        /* Its thread ended: start afresh, keeping its slot and its memory. */
        lp_clear_stack(stack);
        stack->by_count = 0;
        stack->saved_tracefunc = NULL;
        Py_CLEAR(stack->saved_traceobj);
    }
    else {
        stack = PyMem_RawCalloc(1, sizeof(ThreadStack));
        if (stack == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        stack->holders = LP_HELD_BY_DISPATCHER;
#ifdef LP_FREE_THREADED
        stack->slot = dispatcher->n_slots++;
#endif
        stack->next = dispatcher->stacks;
        dispatcher->stacks = stack;
    }
    if (hand_to_thread(dispatcher, stack, tstate) < 0) {
        return NULL;    /* the stack stays free for the next thread */
    }
    return stack;
}

ThreadStack *
lp_stack_of(Dispatcher *dispatcher, PyThreadState *tstate)
{
    lp_lock(dispatcher);
    ThreadStack *stack = stack_of_locked(dispatcher, tstate);
    lp_unlock(dispatcher);
    return stack;
}

/* The calling thread's first event: its stack is found or made, outside any
 * event, so that what the lookup reads is not reclaimed under it. */
ThreadStack *
lp_thread_stack_slow(Dispatcher *dispatcher)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    ThreadStack *stack = lp_stack_of(dispatcher, PyThreadState_Get());
    if (stack != NULL) {
        lp_stack_cache.owner = dispatcher;
        lp_stack_cache.serial = dispatcher->serial;
        lp_stack_cache.stack = stack;
        lp_stack_cache.generation = stack->generation;
    }
    else {
        PyErr_Clear();      /* the thread's events are not profiled */
    }
    PyErr_Restore(type, value, traceback);
    return stack;
}

void
lp_free_stacks(Dispatcher *dispatcher)
{
    ThreadStack *stack = dispatcher->stacks;
    dispatcher->stacks = NULL;
    while (stack != NULL) {
        ThreadStack *next = stack->next;
        Py_CLEAR(stack->saved_traceobj);
        stack_let_go(stack, LP_HELD_BY_DISPATCHER);
        stack = next;
    }
}

int
lp_stack_grow(ThreadStack *stack)
{
    int capacity = stack->capacity ? stack->capacity * 2 : 64;
    FrameRecord *frames = PyMem_RawRealloc(stack->frames, (size_t)capacity * sizeof(FrameRecord));
    if (frames == NULL) {
        return -1;
    }
    stack->frames = frames;
    stack->capacity = capacity;
    return 0;
}

FrameRecord *
lp_line_record_slow(Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code,
                    int64_t t_in)
{
    CodeEntry *entry = lp_registry_find(dispatcher, code);
    if (entry == NULL) {
        return NULL;
    }
    return lp_find_or_push(dispatcher, stack, frame, code, entry, t_in);
}

void
lp_clear_stack(ThreadStack *stack)
{
    stack->depth = 0;
}

void
lp_forget_records(Dispatcher *dispatcher)
{
    LP_STORE_RELEASE(dispatcher->forget_epoch, dispatcher->forget_epoch + 1);
}

/* A record whose code is no longer registered, or no longer wanted by any
 * tracer, gets no more events: it would never be closed. Only the stack's
 * own thread changes it, inside an event, so the entries compared are
 * still there (only their addresses are compared with the registry's). */
void
lp_purge_stack(Dispatcher *dispatcher, ThreadStack *stack)
{
    stack->forget_epoch = LP_LOAD_ACQUIRE(dispatcher->forget_epoch);
    int kept = 0;
    for (int i = 0; i < stack->depth; i++) {
        const FrameRecord *record = &stack->frames[i];
        const CodeEntry *entry = lp_registry_find(dispatcher, record->code);
        if (entry != NULL && entry == record->entry && LP_LOAD(entry->wanted)) {
            stack->frames[kept++] = *record;
        }
    }
    if (kept == stack->depth) {
        return;
    }
    stack->depth = kept;
    /* Records moved down: find each one's outer record again. */
    for (int i = 0; i < kept; i++) {
        int outer = i - 1;
        while (outer >= 0 && stack->frames[outer].code != stack->frames[i].code) {
            outer--;
        }
        stack->frames[i].outer = outer;
    }
}
